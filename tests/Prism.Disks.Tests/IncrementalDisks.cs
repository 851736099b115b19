using System.Buffers.Binary;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;

namespace Prism.Disks.Tests;

/// <summary>
/// What the ext4 and NTFS incremental-walk fixtures and tests share: a golden volume stored at an offset of a VHDX
/// behind an MBR, a clone's divergence (the ranges its own layer holds), and a comparison of walk listings that names
/// the lines that differ.
/// </summary>
public static class IncrementalDisks
{
    /// <summary>
    /// A new dynamic VHDX at <paramref name="vhdx"/> holding <paramref name="image"/> at <paramref name="volumeOffset"/>
    /// (room for as much again after it), and an MBR naming it as partition 1 of <paramref name="partitionType"/>, so that
    /// <c>GuestDisk</c> and a fleet scan find it as a guest would.
    /// </summary>
    public static void CreateGolden(string vhdx, string image, long volumeOffset, long volumeSize, byte partitionType)
    {
        VhdxDisk.Create(vhdx, new VhdxCreateOptions { VirtualSize = volumeOffset + volumeSize + volumeOffset });
        PartitionedChainFixture.WriteChangedSectors(vhdx, null, image, volumeOffset);
        byte[] mbr = new byte[512];
        Span<byte> entry = mbr.AsSpan(446, 16);
        entry[4] = partitionType;
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], (uint)(volumeOffset / 512));
        BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], (uint)(volumeSize / 512));
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
        disk.Write(mbr, 0);
        disk.Flush();
    }

    /// <summary>The ranges a clone's own layer holds: its divergence from its parent.</summary>
    public static List<ByteRange> Divergence(string vhdx)
    {
        using VhdxDisk child = VhdxDisk.Open(vhdx);
        return [.. child.GetAllocatedRanges()];
    }

    // Fragments of the guests' days the incremental-walk tests script (python run on the clone's read-write mount:
    // sys.argv[1] the mount point, sys.argv[2] the seed; leaves() the leaf directories, chosen an iterator over a seeded
    // sample of the files). Each script puts them in its own order, between its own file system's changes.

    /// <summary>The imports, the mount point m, the seed and its random generator rnd.</summary>
    public const string DayPrelude = """
import os, sys, random, shutil
m = sys.argv[1]
seed = int(sys.argv[2])
rnd = random.Random(seed)
""";

    /// <summary>A leaf directory deleted with its files, another moved under a third.</summary>
    public const string DayDirectoryChanges = """
shutil.rmtree(rnd.choice(leaves()))
mover = rnd.choice(leaves())
target = rnd.choice([d for d in leaves() if d != mover])
os.rename(mover, os.path.join(target, 'moved-dir-%d' % seed))
""";

    /// <summary>6 files rewritten in place (same size), 6 appended to (1 B to 70 KB).</summary>
    public const string DayRewriteAndAppend = """
for _ in range(6):
    p = next(chosen)
    with open(p, 'r+b') as h: h.write(rnd.randbytes(os.path.getsize(p)))
for _ in range(6):
    p = next(chosen)
    with open(p, 'ab') as h: h.write(rnd.randbytes(rnd.choice([1, 900, 5000, 70000])))
""";

    /// <summary>5 files truncated to a third, 6 deleted.</summary>
    public const string DayTruncateAndRemove = """
for _ in range(5):
    p = next(chosen)
    os.truncate(p, os.path.getsize(p) // 3)
for _ in range(6):
    os.remove(next(chosen))
""";

    /// <summary>6 files renamed into random leaves.</summary>
    public const string DayRenames = """
for i in range(6):
    os.rename(next(chosen), os.path.join(rnd.choice(leaves()), 'moved-%d-%d.txt' % (seed, i)))
""";

    /// <summary>4 hard links made in random leaves.</summary>
    public const string DayHardLinks = """
for i in range(4):
    os.link(next(chosen), os.path.join(rnd.choice(leaves()), 'hl-%d-%d' % (seed, i)))
""";

    /// <summary>12 new files (empty to 70 KB) in random leaves.</summary>
    public const string DayNewFiles = """
for i in range(12):
    with open(os.path.join(rnd.choice(leaves()), 'new-%d-%d.dat' % (seed, i)), 'wb') as h:
        h.write(rnd.randbytes(rnd.choice([0, 100, 700, 5000, 70000])))
""";

    /// <summary>Equal lists (same lines, same order), or a failure naming the first lines missing and extra.</summary>
    public static void AssertSameLines(List<string> expected, List<string> actual, string what)
    {
        if (expected.SequenceEqual(actual))
        {
            return;
        }

        var missing = expected.Except(actual).Take(5).ToList();
        var extra = actual.Except(expected).Take(5).ToList();
        Assert.Fail($"{what}: {expected.Count} lines expected, {actual.Count} found; missing:\n  {string.Join("\n  ", missing)}\nextra:\n  {string.Join("\n  ", extra)}");
    }
}
