using System.Security.Cryptography;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>Shared helpers of the VHDX tests: whole-disk reads and hashes, seeded writes, oracle wrappers.</summary>
internal static class VhdxTestKit
{
    public const long MiB = 1024 * 1024;

    /// <summary>sha256 (lowercase hex) of the whole virtual disk, read in 4 MiB pieces.</summary>
    public static string DiskSha256(VhdxDisk disk)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buf = new byte[4 * MiB];
        for (long o = 0; o < disk.VirtualSize; o += buf.Length)
        {
            int n = disk.Read(buf, o);
            Assert.True(n > 0, $"short read at 0x{o:X}");
            sha.AppendData(buf, 0, n);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    public static string FileSha256(string path)
    {
        using FileStream f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>Replaces the parent locator of a differencing file in place (same metadata layout, new item).</summary>
    public static void SetLocator(string child, params (string Key, string Value)[] entries)
    {
        byte[] image = File.ReadAllBytes(child);
        long metadataOffset;
        VhdxMetadata m;
        using (VhdxDisk d = VhdxDisk.Open(child, new VhdxOpenOptions { SkipParent = true }))
        {
            metadataOffset = d.Regions.Metadata.FileOffset;
            m = d.Metadata;
        }

        byte[] locator = ParentLocator.Build(entries.Select(e => new KeyValuePair<string, string>(e.Key, e.Value)).ToList());
        byte[] region = MetadataTable.Build(MiB, m.BlockSize, false, m.VirtualSize, m.DiskId, m.LogicalSectorSize, m.PhysicalSectorSize, locator);
        region.CopyTo(image, metadataOffset);
        File.WriteAllBytes(child, image);
    }

    /// <summary>The whole virtual disk (small disks only).</summary>
    public static byte[] ReadAll(VhdxDisk disk)
    {
        byte[] all = new byte[disk.VirtualSize];
        Assert.Equal(all.Length, disk.Read(all, 0));
        return all;
    }

    /// <summary>Opens a VHDX image held in memory (the internal storage entry point).</summary>
    public static VhdxDisk OpenMemory(byte[] image, string path, bool writable = false, VhdxOpenOptions? options = null, bool copy = true)
    {
        var storage = new MemoryStorage(path, image, writable, copy: copy || writable);
        return VhdxDisk.Open(storage, (options ?? new VhdxOpenOptions()) with { Writable = writable }, new ChainContext(64));
    }

    /// <summary>Random bytes of the given length from <paramref name="rng"/>.</summary>
    public static byte[] RandomBytes(Random rng, int length)
    {
        byte[] b = new byte[length];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>Writes <paramref name="data"/> into both the disk and the byte-array model.</summary>
    public static void WriteBoth(VhdxDisk disk, byte[] model, byte[] data, long offset)
    {
        disk.Write(data, offset);
        data.CopyTo(model, offset);
    }

    /// <summary>A seeded, unaligned write: random offset and length (1 .. maxLength), clamped to the disk.</summary>
    public static (long Offset, byte[] Data) RandomWrite(Random rng, long virtualSize, int maxLength)
    {
        long offset = rng.NextInt64(0, virtualSize - 1);
        int length = (int)Math.Min(rng.Next(1, maxLength + 1), virtualSize - offset);
        return (offset, RandomBytes(rng, length));
    }

    /// <summary>First differing byte offset, for readable failures; -1 when equal.</summary>
    public static long FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            return Math.Min(a.Length, b.Length);
        }

        int i = a.CommonPrefixLength(b);
        return i == a.Length ? -1 : i;
    }

    public static void AssertSameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        long d = FirstDifference(expected, actual);
        Assert.True(d < 0, $"{what}: first difference at 0x{d:X} (lengths {expected.Length}/{actual.Length})");
    }

    public static string QemuImg() => Oracle.Require("qemu-img", "qemu-utils");

    public static string QemuIo() => Oracle.Require("qemu-io", "qemu-utils");

    /// <summary><c>qemu-img convert -O raw</c> of <paramref name="vhdx"/>, returned as bytes.</summary>
    public static byte[] QemuConvertRaw(string vhdx, TempDir dir)
    {
        string raw = dir.File(System.IO.Path.GetFileName(vhdx) + "." + Guid.NewGuid().ToString("N")[..6] + ".raw");
        Oracle.Run(QemuImg(), ["convert", "-f", "vhdx", "-O", "raw", vhdx, raw]);
        byte[] bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    /// <summary>Asserts that <c>qemu-img check</c> reports no errors for <paramref name="vhdx"/>.</summary>
    public static void AssertQemuCheckClean(string vhdx)
    {
        ProcessResult r = Oracle.Run(QemuImg(), ["check", "-f", "vhdx", vhdx], check: false);
        Assert.True(r.ExitCode == 0, $"qemu-img check {vhdx} exited {r.ExitCode}: {r.StdOut}{r.StdErr}");
        Assert.Contains("No errors", r.StdOut + r.StdErr, StringComparison.Ordinal);
    }

    public static void AssertNoCheckErrors(VhdxDisk disk)
    {
        var errors = disk.Check().Where(i => i.Severity == VhdxCheckSeverity.Error).Select(i => i.Message).ToList();
        Assert.True(errors.Count == 0, $"{disk.Path}: Check() errors: {string.Join("; ", errors)}");
    }
    public const string ChainSha256Script = """
        import sys, hashlib, pyvhdi
        files = []
        for p in sys.argv[1:]:
            f = pyvhdi.file()
            f.open(p)
            files.append(f)
        for i in range(1, len(files)):
            files[i].set_parent(files[i - 1])
        top = files[-1]
        size = top.get_media_size()
        h = hashlib.sha256()
        off = 0
        while off < size:
            n = min(4 << 20, size - off)
            data = top.read_buffer_at_offset(n, off)
            assert len(data) == n, (off, len(data))
            h.update(data)
            off += n
        print(size)
        print(h.hexdigest())
        """;

    /// <summary>Size and sha256 of the top of a chain (base first) as pyvhdi reads it.</summary>
    public static (long Size, string Sha256) PyvhdiSha256(TempDir dir, IReadOnlyList<string> chainBaseFirst)
    {
        string python = Oracle.RequirePythonModule("pyvhdi", "python3-libvhdi");
        string script = dir.File("chain-sha.py");
        File.WriteAllText(script, ChainSha256Script);
        ProcessResult r = Oracle.Run(python, [script, .. chainBaseFirst]);
        string[] lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(lines[0].Trim()), lines[1].Trim());
    }
}
