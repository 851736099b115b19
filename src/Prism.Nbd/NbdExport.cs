using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Nbd;

/// <summary>
/// One disk served under a name. Every request on the export, from any connection, runs under one lock, so a write
/// that has been answered is visible to every later read and a FLUSH on any connection makes durable every write
/// answered before it, on all connections (the condition for NBD_FLAG_CAN_MULTI_CONN). The VHDX engine allows
/// concurrent reads and serializes writes itself; the lock adds the ordering between connections.
/// </summary>
public sealed class NbdExport : IDisposable
{
    private readonly VhdxDisk _disk;
    private readonly DiskLease? _lease;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IReadOnlyList<ChainRange>? _map;
    private bool _dirty;

    private NbdExport(string name, VhdxDisk disk, bool readOnly, DiskLease? lease, string? readOnlyReason)
    {
        Name = name;
        _disk = disk;
        ReadOnly = readOnly;
        _lease = lease;
        ReadOnlyReason = readOnlyReason;
    }

    /// <summary>The export name clients ask for.</summary>
    public string Name { get; }

    /// <summary>The disk's path.</summary>
    public string Path => _disk.Path;

    /// <summary>Virtual size in bytes.</summary>
    public long Size => _disk.VirtualSize;

    /// <summary>Writes are refused (NBD_FLAG_READ_ONLY).</summary>
    public bool ReadOnly { get; }

    /// <summary>Why a disk asked for writable is served read-only (a golden, a parent), or null.</summary>
    public string? ReadOnlyReason { get; }

    /// <summary>The logical sector size (the preferred and minimum block size advertised).</summary>
    public int SectorSize => _disk.LogicalSectorSize;

    /// <summary>
    /// Opens <paramref name="path"/> for serving. A disk <paramref name="protectedReason"/> names (a golden, a parent of a
    /// clone, a sealed VHDX) is served read-only whatever was asked. A writable export takes the disk's lease: a disk
    /// another Prism server holds is refused.
    /// </summary>
    /// <exception cref="IOException">The disk cannot be opened or its lease is held.</exception>
    public static NbdExport Open(string path, string name, bool readOnly, string? protectedReason)
    {
        ArgumentNullException.ThrowIfNull(path);
        bool ro = readOnly || protectedReason is not null;
        DiskLease? lease = ro ? null : DiskLease.Acquire(path, "prism serve");
        try
        {
            VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = !ro });
            return new NbdExport(name, disk, ro, lease, readOnly ? null : protectedReason);
        }
        catch
        {
            lease?.Dispose();
            throw;
        }
    }

    internal async Task ReadAsync(Memory<byte> buffer, long offset, CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _disk.ReadExactly(buffer.Span, offset);
        }
        finally
        {
            _lock.Release();
        }
    }

    internal Task WriteAsync(ReadOnlyMemory<byte> data, long offset, bool fua, CancellationToken ct) =>
        ChangeAsync(() => _disk.Write(data.Span, offset), fua, ct);

    /// <summary>Zeroes the range: whole blocks become PAYLOAD_BLOCK_ZERO in the BAT, partial ones are written (a parent is
    /// never touched).</summary>
    internal Task WriteZeroesAsync(long offset, long length, bool fua, CancellationToken ct) =>
        ChangeAsync(() => _disk.WriteZeroes(offset, length), fua, ct);

    /// <summary>TRIM: the whole blocks of the range become PAYLOAD_BLOCK_ZERO in the BAT; partial ends stay (TRIM is advisory).</summary>
    internal Task DiscardAsync(long offset, long length, bool fua, CancellationToken ct) =>
        ChangeAsync(() => _disk.Discard(offset, length), fua, ct);

    private async Task ChangeAsync(Action change, bool fua, CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            change();
            _map = null;
            _dirty = true;
            if (fua)
            {
                _disk.Flush();
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    internal async Task FlushAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!ReadOnly && _dirty)
            {
                _disk.Flush();
                _dirty = false;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// base:allocation descriptors from <paramref name="offset"/> for up to <paramref name="length"/> bytes: ranges some
    /// layer of the chain holds are data (0), the rest reads as zeros and is a hole (NBD_STATE_HOLE | NBD_STATE_ZERO).
    /// </summary>
    internal async Task<List<(uint Length, uint Flags)>> BlockStatusAsync(long offset, long length, bool one, CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        IReadOnlyList<ChainRange> map;
        try
        {
            map = _map ??= _disk.GetChainMap(ct);
        }
        finally
        {
            _lock.Release();
        }

        var result = new List<(uint, uint)>();
        long end = offset + length;
        long at = offset;
        int i = 0;
        while (i < map.Count && map[i].Offset + map[i].Length <= at)
        {
            i++;
        }

        while (at < end && (!one || result.Count == 0))
        {
            long next;
            uint flags;
            bool inRange = i < map.Count && map[i].Offset <= at;
            if (inRange)
            {
                next = Math.Min(end, map[i].Offset + map[i].Length);
                flags = 0;
                i++;
            }
            else
            {
                next = Math.Min(end, i < map.Count ? map[i].Offset : Size);
                flags = NbdProtocol.StateHole | NbdProtocol.StateZero;
            }

            // Descriptors are 32-bit lengths; keep them sector-aligned below 4 GiB.
            long len = Math.Min(next - at, 0xFFFF_0000L);
            if (len <= 0)
            {
                break;
            }

            if (result.Count > 0 && result[^1].Item2 == flags && (long)result[^1].Item1 + len <= 0xFFFF_0000L)
            {
                result[^1] = ((uint)(result[^1].Item1 + len), flags);
            }
            else
            {
                result.Add(((uint)len, flags));
            }

            at += len;
            if (inRange && at < next)
            {
                i--; // the same map range continues past the 32-bit cap
            }
        }

        return result;
    }

    /// <summary>Flushes (a writable export) and closes the disk, then releases the lease.</summary>
    public void Dispose()
    {
        _lock.Wait();
        try
        {
            if (!ReadOnly)
            {
                _disk.Flush();
            }

            _disk.Dispose();
        }
        finally
        {
            _lease?.Dispose();
            _lock.Release();
            _lock.Dispose();
        }
    }
}
