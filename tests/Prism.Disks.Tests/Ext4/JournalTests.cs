using System.Security.Cryptography;
using Prism.Disks.Ext4;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// Dirty journals written with debugfs (journal_open / journal_write / journal_close: two committed transactions, the
/// second revoking a block of the first, and a third left uncommitted) read as the same image after e2fsck -fy replays
/// it, and the image file is never written.
/// </summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class JournalTests(Ext4VolumesFixture fixture)
{
    [SkippableTheory]
    [InlineData("ext4-4k", "-c -v 3", false)]              // 64-bit tags, checksum v3
    [InlineData("ext4-4k", "-c -v 2", false)]              // 64-bit tags, checksum v2
    [InlineData("ext4-1k-32bit-nocsum", "", false)]        // 32-bit tags, 1 KiB blocks
    [InlineData("ext4-1k-32bit-nocsum", "-c -v 2", true)]  // 32-bit tags, checksum v2
    [InlineData("ext3-4k", "", false)]                     // 32-bit tags, no checksums
    [InlineData("ext4-4k-32bit-csum", "-c -v 3", false)]  // 32-bit tags, checksum v3 (16-byte tags, high word unused)
    [InlineData("ext4-1k-csum-64bit", "-c -v 3", false)]  // 64-bit tags, checksum v3, 1 KiB journal blocks
    [InlineData("ext4-4k", "-c -v 3", true)]
    [InlineData("ext3-4k", "", true)]
    public void DirtyJournal_ReadsAsAfterE2fsck_AndImageUnchanged(string variant, string openOptions, bool uncommittedTail)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        using var dir = new TempDir();
        string dirty = dir.File("dirty.img");
        Oracle.Run("cp", ["--sparse=always", built.Image, dirty]);

        long[] first, second, third;
        int bs;
        using (var source = new FileDiskSource(dirty))
        {
            Ext4Volume clean = Ext4Volume.Open(source);
            Assert.Equal(0, clean.JournalReplayedTransactions);
            bs = clean.BlockSize;
            first = DataBlocks(clean, "/sizes/s065536.bin");
            second = DataBlocks(clean, "/sizes/s004097.bin");
            third = DataBlocks(clean, "/sizes/s004096.bin");
        }

        File.WriteAllBytes(dir.File("x"), Enumerable.Repeat((byte)'X', 2 * bs).ToArray());
        File.WriteAllBytes(dir.File("y"), Enumerable.Repeat((byte)'Y', bs).ToArray());
        File.WriteAllBytes(dir.File("z"), Enumerable.Repeat((byte)'Z', bs).ToArray());
        string commands = dir.File("journal.cmd");
        // Committed: T1 writes two blocks, T2 one, T3 one and revokes T1's first. (debugfs 1.47 lets the transaction after
        // one with a revoke record overwrite that one's commit block, so the revoke goes last.) With an uncommitted tail,
        // T2 carries the revoke and no commit block.
        File.WriteAllLines(commands, uncommittedTail
            ? [$"jo {openOptions}".TrimEnd(), $"jw -b {first[0]},{first[1]} {dir.File("x")}", $"jw -b {second[0]} -r {first[0]} -c {dir.File("y")}", "jc"]
            : [$"jo {openOptions}".TrimEnd(), $"jw -b {first[0]},{first[1]} {dir.File("x")}", $"jw -b {third[0]} {dir.File("z")}",
                $"jw -b {second[0]} -r {first[0]} {dir.File("y")}",
                "jc"]);
        Oracle.Run(debugfs, ["-w", "-f", commands, dirty]);

        string fixedCopy = dir.File("fixed.img");
        Oracle.Run("cp", ["--sparse=always", dirty, fixedCopy]);
        Ext4Images.Fsck(fixedCopy, "-fy");
        string[] expected = Ext4Images.FuseManifest(fixedCopy, dir.File("mnt"));

        byte[] before = Hash(dirty);
        using (var source = new FileDiskSource(dirty))
        {
            Ext4Volume volume = Ext4Volume.Open(source, dirty);
            Assert.Equal(uncommittedTail ? 1 : 3, volume.JournalReplayedTransactions);
            Assert.Equal(uncommittedTail ? 2 : 3, volume.JournalReplayedBlocks);
            var errors = new List<Ext4EnumerationError>();
            string[] ours = Ext4Images.OurManifest(volume, volume.Enumerate(onError: errors.Add));
            Assert.Empty(errors);
            string[] missing = [.. expected.Except(ours)];
            string[] extra = [.. ours.Except(expected)];
            Assert.True(missing.Length == 0 && extra.Length == 0,
                $"missing:\n{Ext4Images.Describe(missing)}\nextra:\n{Ext4Images.Describe(extra)}");

            // The revoked block keeps its old content (unless its revoke was never committed), the others carry the journal's.
            byte[] block = new byte[bs];
            volume.OpenFile(volume.Find("/sizes/s065536.bin")!).ReadExactly(block, bs);
            Assert.All(block, b => Assert.Equal((byte)'X', b));
            volume.OpenFile(volume.Find("/sizes/s065536.bin")!).ReadExactly(block, 0);
            Assert.Equal(uncommittedTail, block.All(b => b == (byte)'X'));
            volume.OpenFile(volume.Find("/sizes/s004097.bin")!).ReadExactly(block, 0);
            Assert.Equal(!uncommittedTail, block.All(b => b == (byte)'Y'));
            volume.OpenFile(volume.Find("/sizes/s004096.bin")!).ReadExactly(block, 0);
            Assert.Equal(!uncommittedTail, block.All(b => b == (byte)'Z'));
        }

        Assert.Equal(before, Hash(dirty));
    }

    private static long[] DataBlocks(Ext4Volume volume, string path)
        => Ext4Images.MappedBlocks(volume.GetSectorMap(volume.Find(path)!), volume.BlockSize);

    private static byte[] Hash(string path)
    {
        using FileStream f = File.OpenRead(path);
        return SHA256.HashData(f);
    }
}
