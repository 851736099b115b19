using System.Buffers.Binary;
using System.Text;

namespace Prism.Nbd;

/// <summary>
/// One client: fixed-newstyle negotiation (EXPORT_NAME, ABORT, LIST, INFO, GO, STRUCTURED_REPLY, LIST/SET_META_CONTEXT
/// with base:allocation), then transmission (READ, WRITE with FUA, FLUSH, TRIM, WRITE_ZEROES, BLOCK_STATUS, DISC).
/// Requests are answered in order; memory is bounded by <see cref="NbdProtocol.MaxPayload"/> per connection.
/// </summary>
internal sealed class NbdConnection
{
    private readonly IReadOnlyDictionary<string, NbdExport> _exports;
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2? _tlsCertificate;
    private Stream _stream;
    private bool _tls;
    private readonly Action<string> _log;
    private bool _structured;
    private bool _allocationContext;
    private bool _noZeroes;

    /// <summary>A connection over <paramref name="stream"/> to <paramref name="exports"/>; <paramref name="log"/> hears what goes wrong.
    /// With <paramref name="tlsCertificate"/>, TLS is mandatory (NBD_OPT_STARTTLS before anything else).</summary>
    public NbdConnection(Stream stream, IReadOnlyDictionary<string, NbdExport> exports, Action<string> log,
        System.Security.Cryptography.X509Certificates.X509Certificate2? tlsCertificate = null)
    {
        _stream = stream;
        _tlsCertificate = tlsCertificate;
        _exports = exports;
        _log = log;
    }

    /// <summary>Serves the client until it disconnects, aborts or <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        NbdExport? export = await NegotiateAsync(ct).ConfigureAwait(false);
        if (export is not null)
        {
            await TransmitAsync(export, ct).ConfigureAwait(false);
        }
    }

    private async Task<NbdExport?> NegotiateAsync(CancellationToken ct)
    {
        byte[] hello = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(hello, NbdProtocol.InitMagic);
        BinaryPrimitives.WriteUInt64BigEndian(hello.AsSpan(8), NbdProtocol.OptionMagic);
        BinaryPrimitives.WriteUInt16BigEndian(hello.AsSpan(16), NbdProtocol.FlagFixedNewstyle | NbdProtocol.FlagNoZeroes);
        await _stream.WriteAsync(hello, ct).ConfigureAwait(false);
        byte[] clientFlags = new byte[4];
        await _stream.ReadExactlyAsync(clientFlags, ct).ConfigureAwait(false);
        uint flags = BinaryPrimitives.ReadUInt32BigEndian(clientFlags);
        if ((flags & ~(NbdProtocol.ClientFixedNewstyle | NbdProtocol.ClientNoZeroes)) != 0 || (flags & NbdProtocol.ClientFixedNewstyle) == 0)
        {
            _log($"client flags 0x{flags:X}: not fixed newstyle or unknown bits; closing");
            return null;
        }

        _noZeroes = (flags & NbdProtocol.ClientNoZeroes) != 0;
        byte[] header = new byte[16];
        while (true)
        {
            await _stream.ReadExactlyAsync(header, ct).ConfigureAwait(false);
            if (BinaryPrimitives.ReadUInt64BigEndian(header) != NbdProtocol.OptionMagic)
            {
                _log("option without IHAVEOPT magic; closing");
                return null;
            }

            uint option = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            if (length > NbdProtocol.MaxOptionLength)
            {
                // Too big to hold: drain it and refuse, so the client may go on negotiating.
                await DrainAsync(length, ct).ConfigureAwait(false);
                await OptionReplyAsync(option, NbdProtocol.RepErrTooBig, Encoding.UTF8.GetBytes("option too large"), ct).ConfigureAwait(false);
                continue;
            }

            byte[] data = new byte[length];
            await _stream.ReadExactlyAsync(data, ct).ConfigureAwait(false);
            if (_tlsCertificate is not null && !_tls && option is not (NbdProtocol.OptStartTls or NbdProtocol.OptAbort))
            {
                if (option == NbdProtocol.OptExportName)
                {
                    _log("EXPORT_NAME before STARTTLS on a TLS-only server; closing");
                    return null;
                }

                await OptionReplyAsync(option, NbdProtocol.RepErrTlsReqd, Encoding.UTF8.GetBytes("this server requires TLS (NBD_OPT_STARTTLS)"), ct).ConfigureAwait(false);
                continue;
            }

            switch (option)
            {
                case NbdProtocol.OptExportName:
                    {
                        if (!_exports.TryGetValue(Encoding.UTF8.GetString(data), out NbdExport? e) && !(data.Length == 0 && TryDefault(out e)))
                        {
                            _log($"EXPORT_NAME '{Encoding.UTF8.GetString(data)}': no such export; closing (the protocol has no error reply here)");
                            return null;
                        }

                        byte[] reply = new byte[_noZeroes ? 10 : 134];
                        BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)e!.Size);
                        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), TransmissionFlags(e));
                        await _stream.WriteAsync(reply, ct).ConfigureAwait(false);
                        return e;
                    }

                case NbdProtocol.OptAbort:
                    await OptionReplyAsync(option, NbdProtocol.RepAck, [], ct).ConfigureAwait(false);
                    return null;

                case NbdProtocol.OptList:
                    if (length != 0)
                    {
                        await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("LIST takes no data"), ct).ConfigureAwait(false);
                        break;
                    }

                    foreach (string name in _exports.Keys.Order(StringComparer.Ordinal))
                    {
                        byte[] n = Encoding.UTF8.GetBytes(name);
                        byte[] payload = new byte[4 + n.Length];
                        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)n.Length);
                        n.CopyTo(payload, 4);
                        await OptionReplyAsync(option, NbdProtocol.RepServer, payload, ct).ConfigureAwait(false);
                    }

                    await OptionReplyAsync(option, NbdProtocol.RepAck, [], ct).ConfigureAwait(false);
                    break;

                case NbdProtocol.OptInfo or NbdProtocol.OptGo:
                    {
                        NbdExport? e = await InfoAsync(option, data, ct).ConfigureAwait(false);
                        if (e is not null && option == NbdProtocol.OptGo)
                        {
                            return e;
                        }

                        break;
                    }

                case NbdProtocol.OptStructuredReply:
                    if (length != 0)
                    {
                        await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("STRUCTURED_REPLY takes no data"), ct).ConfigureAwait(false);
                        break;
                    }

                    _structured = true;
                    await OptionReplyAsync(option, NbdProtocol.RepAck, [], ct).ConfigureAwait(false);
                    break;

                case NbdProtocol.OptListMetaContext or NbdProtocol.OptSetMetaContext:
                    await MetaContextAsync(option, data, ct).ConfigureAwait(false);
                    break;

                case NbdProtocol.OptStartTls:
                    if (_tlsCertificate is null)
                    {
                        await OptionReplyAsync(option, NbdProtocol.RepErrPolicy, Encoding.UTF8.GetBytes("TLS is not configured on this server (--tls-cert)"), ct).ConfigureAwait(false);
                    }
                    else if (_tls || length != 0)
                    {
                        await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes(_tls ? "TLS is already on" : "STARTTLS takes no data"), ct).ConfigureAwait(false);
                    }
                    else
                    {
                        await OptionReplyAsync(option, NbdProtocol.RepAck, [], ct).ConfigureAwait(false);
                        var ssl = new System.Net.Security.SslStream(_stream, leaveInnerStreamOpen: false);
                        await ssl.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions
                        {
                            ServerCertificate = _tlsCertificate,
                            ClientCertificateRequired = false,
                            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                        }, ct).ConfigureAwait(false);
                        _stream = ssl;
                        _tls = true;
                    }

                    break;

                default:
                    await OptionReplyAsync(option, NbdProtocol.RepErrUnsup, Encoding.UTF8.GetBytes($"option {option} is not supported"), ct).ConfigureAwait(false);
                    break;
            }
        }
    }

    private bool TryDefault(out NbdExport? export)
    {
        // The empty name selects the only export (what "nbd+unix:///?socket=..." asks for).
        export = _exports.Count == 1 ? _exports.Values.First() : null;
        return export is not null;
    }

    private async Task<NbdExport?> InfoAsync(uint option, byte[] data, CancellationToken ct)
    {
        if (data.Length < 6)
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("INFO/GO data too short"), ct).ConfigureAwait(false);
            return null;
        }

        uint nameLength = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (nameLength > data.Length - 6)
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("export name length past the option"), ct).ConfigureAwait(false);
            return null;
        }

        string name = Encoding.UTF8.GetString(data, 4, (int)nameLength);
        int requests = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(4 + (int)nameLength));
        if (data.Length != 6 + (int)nameLength + (2 * requests))
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("information request count does not match the length"), ct).ConfigureAwait(false);
            return null;
        }

        if (!_exports.TryGetValue(name, out NbdExport? export) && !(name.Length == 0 && TryDefault(out export)))
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrUnknown, Encoding.UTF8.GetBytes($"no export named '{name}'"), ct).ConfigureAwait(false);
            return null;
        }

        byte[] info = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(info, NbdProtocol.InfoExport);
        BinaryPrimitives.WriteUInt64BigEndian(info.AsSpan(2), (ulong)export!.Size);
        BinaryPrimitives.WriteUInt16BigEndian(info.AsSpan(10), TransmissionFlags(export));
        await OptionReplyAsync(option, NbdProtocol.RepInfo, info, ct).ConfigureAwait(false);
        byte[] block = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(block, NbdProtocol.InfoBlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(6), (uint)Math.Max(4096, export.SectorSize));
        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(10), NbdProtocol.MaxPayload);
        await OptionReplyAsync(option, NbdProtocol.RepInfo, block, ct).ConfigureAwait(false);
        for (int i = 0; i < requests; i++)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(6 + (int)nameLength + (2 * i))) == NbdProtocol.InfoName)
            {
                byte[] n = Encoding.UTF8.GetBytes(export.Name);
                byte[] payload = new byte[2 + n.Length];
                BinaryPrimitives.WriteUInt16BigEndian(payload, NbdProtocol.InfoName);
                n.CopyTo(payload, 2);
                await OptionReplyAsync(option, NbdProtocol.RepInfo, payload, ct).ConfigureAwait(false);
            }
        }

        await OptionReplyAsync(option, NbdProtocol.RepAck, [], ct).ConfigureAwait(false);
        return export;
    }

    private async Task MetaContextAsync(uint option, byte[] data, CancellationToken ct)
    {
        if (option == NbdProtocol.OptSetMetaContext && !_structured)
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("SET_META_CONTEXT needs STRUCTURED_REPLY first"), ct).ConfigureAwait(false);
            return;
        }

        int at = 0;
        if (!TryReadU32(data, ref at, out uint nameLength) || nameLength > data.Length - at)
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("bad meta context request"), ct).ConfigureAwait(false);
            return;
        }

        string name = Encoding.UTF8.GetString(data, at, (int)nameLength);
        at += (int)nameLength;
        var queries = new List<string>();
        if (!TryReadU32(data, ref at, out uint count))
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("bad meta context request"), ct).ConfigureAwait(false);
            return;
        }

        for (uint q = 0; q < count; q++)
        {
            if (!TryReadU32(data, ref at, out uint ql) || ql > data.Length - at)
            {
                await OptionReplyAsync(option, NbdProtocol.RepErrInvalid, Encoding.UTF8.GetBytes("bad meta context query"), ct).ConfigureAwait(false);
                return;
            }

            queries.Add(Encoding.UTF8.GetString(data, at, (int)ql));
            at += (int)ql;
        }

        if (!_exports.ContainsKey(name) && !(name.Length == 0 && _exports.Count == 1))
        {
            await OptionReplyAsync(option, NbdProtocol.RepErrUnknown, Encoding.UTF8.GetBytes($"no export named '{name}'"), ct).ConfigureAwait(false);
            return;
        }

        // LIST with no queries lists everything; "base:" matches every base context.
        bool match = (option == NbdProtocol.OptListMetaContext && queries.Count == 0)
            || queries.Any(q => q is NbdProtocol.BaseAllocation or "base:");
        if (option == NbdProtocol.OptSetMetaContext)
        {
            _allocationContext = queries.Contains(NbdProtocol.BaseAllocation);
            match = _allocationContext;
        }

        if (match)
        {
            byte[] n = Encoding.UTF8.GetBytes(NbdProtocol.BaseAllocation);
            byte[] payload = new byte[4 + n.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, option == NbdProtocol.OptSetMetaContext ? 1u : 0u);
            n.CopyTo(payload, 4);
            await OptionReplyAsync(option, NbdProtocol.RepMetaContext, payload, ct).ConfigureAwait(false);
        }

        await OptionReplyAsync(option, NbdProtocol.RepAck, [], ct).ConfigureAwait(false);
    }

    private static bool TryReadU32(byte[] data, ref int at, out uint value)
    {
        value = 0;
        if (data.Length - at < 4)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
        at += 4;
        return true;
    }

    private static ushort TransmissionFlags(NbdExport e)
    {
        ushort f = NbdProtocol.TxHasFlags | NbdProtocol.TxSendFlush | NbdProtocol.TxCanMultiConn;
        return e.ReadOnly ? (ushort)(f | NbdProtocol.TxReadOnly)
            : (ushort)(f | NbdProtocol.TxSendFua | NbdProtocol.TxSendTrim | NbdProtocol.TxSendWriteZeroes);
    }

    private async Task OptionReplyAsync(uint option, uint type, byte[] data, CancellationToken ct)
    {
        byte[] header = new byte[20 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(header, NbdProtocol.OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), type);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(16), (uint)data.Length);
        data.CopyTo(header, 20);
        await _stream.WriteAsync(header, ct).ConfigureAwait(false);
    }

    private async Task DrainAsync(long length, CancellationToken ct)
    {
        byte[] sink = new byte[64 * 1024];
        while (length > 0)
        {
            int n = (int)Math.Min(sink.Length, length);
            await _stream.ReadExactlyAsync(sink.AsMemory(0, n), ct).ConfigureAwait(false);
            length -= n;
        }
    }

    /// <summary>
    /// Answers requests until the client disconnects or <paramref name="stop"/> fires. Stopping only interrupts the wait
    /// for the next request: a request that has arrived is carried out and answered (clean shutdown).
    /// </summary>
    private async Task TransmitAsync(NbdExport export, CancellationToken stop)
    {
        CancellationToken ct = CancellationToken.None;
        byte[] request = new byte[28];
        byte[] buffer = [];
        while (true)
        {
            try
            {
                await _stream.ReadExactlyAsync(request.AsMemory(0, 1), stop).ConfigureAwait(false);
                await _stream.ReadExactlyAsync(request.AsMemory(1), ct).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                return; // the client went away between requests
            }
            catch (OperationCanceledException)
            {
                return; // the server is stopping; nothing was in flight on this connection
            }

            if (BinaryPrimitives.ReadUInt32BigEndian(request) != NbdProtocol.RequestMagic)
            {
                _log("request without the request magic; closing");
                return;
            }

            ushort flags = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(4));
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(6));
            ulong cookie = BinaryPrimitives.ReadUInt64BigEndian(request.AsSpan(8));
            ulong offset = BinaryPrimitives.ReadUInt64BigEndian(request.AsSpan(16));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(24));
            bool inRange = offset <= (ulong)export.Size && length <= (ulong)export.Size - offset;
            switch (type)
            {
                case NbdProtocol.CmdDisc:
                    await export.FlushAsync(ct).ConfigureAwait(false);
                    return;

                case NbdProtocol.CmdRead:
                    if (length > NbdProtocol.MaxPayload)
                    {
                        await ErrorAsync(cookie, NbdProtocol.EOverflow, "read larger than the maximum block size", ct).ConfigureAwait(false);
                    }
                    else if (!inRange || length == 0)
                    {
                        await ErrorAsync(cookie, NbdProtocol.EInval, length == 0 ? "zero-length read" : "read past the end of the export", ct).ConfigureAwait(false);
                    }
                    else
                    {
                        if (buffer.Length < length)
                        {
                            buffer = new byte[Math.Max(length, 1 << 20)];
                        }

                        uint error = 0;
                        try
                        {
                            await export.ReadAsync(buffer.AsMemory(0, (int)length), (long)offset, ct).ConfigureAwait(false);
                        }
                        catch (IOException e)
                        {
                            _log($"read at 0x{offset:X}: {e.Message}");
                            error = NbdProtocol.EIo;
                        }

                        if (error != 0)
                        {
                            await ErrorAsync(cookie, error, "read failed", ct).ConfigureAwait(false);
                        }
                        else
                        {
                            await ReadReplyAsync(cookie, offset, buffer.AsMemory(0, (int)length), ct).ConfigureAwait(false);
                        }
                    }

                    break;

                case NbdProtocol.CmdWrite:
                    if (length > NbdProtocol.MaxPayload)
                    {
                        // The payload follows the header whatever the verdict: read past it, keeping memory bounded.
                        await DrainAsync(length, ct).ConfigureAwait(false);
                        await ErrorAsync(cookie, NbdProtocol.EOverflow, "write larger than the maximum block size", ct).ConfigureAwait(false);
                        break;
                    }

                    if (buffer.Length < length)
                    {
                        buffer = new byte[Math.Max(length, 1 << 20)];
                    }

                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, (int)length), ct).ConfigureAwait(false);
                    if (export.ReadOnly)
                    {
                        await ErrorAsync(cookie, NbdProtocol.EPerm, "the export is read-only", ct).ConfigureAwait(false);
                    }
                    else if (!inRange || length == 0)
                    {
                        await ErrorAsync(cookie, length == 0 ? NbdProtocol.EInval : NbdProtocol.ENoSpc, length == 0 ? "zero-length write" : "write past the end of the export", ct).ConfigureAwait(false);
                    }
                    else
                    {
                        await RunAsync(cookie, () => export.WriteAsync(buffer.AsMemory(0, (int)length), (long)offset, (flags & NbdProtocol.CmdFlagFua) != 0, ct), ct).ConfigureAwait(false);
                    }

                    break;

                case NbdProtocol.CmdFlush:
                    await RunAsync(cookie, () => export.FlushAsync(ct), ct).ConfigureAwait(false);
                    break;

                case NbdProtocol.CmdTrim or NbdProtocol.CmdWriteZeroes:
                    if (export.ReadOnly)
                    {
                        await ErrorAsync(cookie, NbdProtocol.EPerm, "the export is read-only", ct).ConfigureAwait(false);
                    }
                    else if (!inRange || length == 0)
                    {
                        await ErrorAsync(cookie, length == 0 ? NbdProtocol.EInval : NbdProtocol.ENoSpc, "range past the end of the export", ct).ConfigureAwait(false);
                    }
                    else if (type == NbdProtocol.CmdTrim)
                    {
                        // TRIM is advisory: the client may not assume anything about the range until it writes it again. The
                        // blocks it covers whole are recorded in the BAT as zero; the partial ends stay (a parent is never touched).
                        await RunAsync(cookie, () => export.DiscardAsync((long)offset, length, (flags & NbdProtocol.CmdFlagFua) != 0, ct), ct).ConfigureAwait(false);
                    }
                    else if ((flags & NbdProtocol.CmdFlagFastZero) != 0)
                    {
                        // Zeroing here means writing zeros: not faster than a write, which FAST_ZERO asks us to say.
                        await ErrorAsync(cookie, NbdProtocol.ENotSup, "no fast zeroing", ct).ConfigureAwait(false);
                    }
                    else
                    {
                        await RunAsync(cookie, () => export.WriteZeroesAsync((long)offset, length, (flags & NbdProtocol.CmdFlagFua) != 0, ct), ct).ConfigureAwait(false);
                    }

                    break;

                case NbdProtocol.CmdBlockStatus:
                    if (!_structured || !_allocationContext)
                    {
                        await ErrorAsync(cookie, NbdProtocol.EInval, "BLOCK_STATUS needs structured replies and the base:allocation context", ct).ConfigureAwait(false);
                    }
                    else if (!inRange || length == 0)
                    {
                        await ErrorAsync(cookie, NbdProtocol.EInval, "block status past the end of the export", ct).ConfigureAwait(false);
                    }
                    else
                    {
                        List<(uint Length, uint Flags)> extents = await export.BlockStatusAsync((long)offset, length, (flags & NbdProtocol.CmdFlagReqOne) != 0, ct).ConfigureAwait(false);
                        byte[] payload = new byte[4 + (8 * extents.Count)];
                        BinaryPrimitives.WriteUInt32BigEndian(payload, 1);
                        for (int i = 0; i < extents.Count; i++)
                        {
                            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4 + (8 * i)), extents[i].Length);
                            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8 + (8 * i)), extents[i].Flags);
                        }

                        await ChunkAsync(cookie, NbdProtocol.ReplyFlagDone, NbdProtocol.ReplyTypeBlockStatus, payload, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
                    }

                    break;

                default:
                    await ErrorAsync(cookie, NbdProtocol.EInval, $"command {type} is not supported", ct).ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <summary>Runs a command and answers it: success, or EIO/ENOSPC with a log line for what failed.</summary>
    private async Task RunAsync(ulong cookie, Func<Task> command, CancellationToken ct)
    {
        uint error = 0;
        try
        {
            await command().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _log(e.Message);
            error = e.HResult == 28 ? NbdProtocol.ENoSpc : NbdProtocol.EIo;
        }

        if (error != 0)
        {
            await ErrorAsync(cookie, error, "the disk could not be written", ct).ConfigureAwait(false);
        }
        else if (_structured)
        {
            await ChunkAsync(cookie, NbdProtocol.ReplyFlagDone, NbdProtocol.ReplyTypeNone, [], ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
        }
        else
        {
            await SimpleReplyAsync(cookie, 0, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
        }
    }

    private async Task ReadReplyAsync(ulong cookie, ulong offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (!_structured)
        {
            await SimpleReplyAsync(cookie, 0, data, ct).ConfigureAwait(false);
            return;
        }

        byte[] prefix = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(prefix, offset);
        await ChunkAsync(cookie, NbdProtocol.ReplyFlagDone, NbdProtocol.ReplyTypeOffsetData, prefix, data, ct).ConfigureAwait(false);
    }

    private async Task ErrorAsync(ulong cookie, uint error, string message, CancellationToken ct)
    {
        if (!_structured)
        {
            await SimpleReplyAsync(cookie, error, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return;
        }

        byte[] text = Encoding.UTF8.GetBytes(message);
        byte[] payload = new byte[6 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, error);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4), (ushort)text.Length);
        text.CopyTo(payload, 6);
        await ChunkAsync(cookie, NbdProtocol.ReplyFlagDone, NbdProtocol.ReplyTypeError, payload, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
    }

    private async Task SimpleReplyAsync(ulong cookie, uint error, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        byte[] header = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdProtocol.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), error);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), cookie);
        await _stream.WriteAsync(header, ct).ConfigureAwait(false);
        if (!data.IsEmpty)
        {
            await _stream.WriteAsync(data, ct).ConfigureAwait(false);
        }
    }

    private async Task ChunkAsync(ulong cookie, ushort flags, ushort type, byte[] head, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        byte[] header = new byte[20 + head.Length];
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdProtocol.StructuredReplyMagic);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), type);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(16), (uint)(head.Length + data.Length));
        head.CopyTo(header, 20);
        await _stream.WriteAsync(header, ct).ConfigureAwait(false);
        if (!data.IsEmpty)
        {
            await _stream.WriteAsync(data, ct).ConfigureAwait(false);
        }
    }
}
