using System.Text.RegularExpressions;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>libvhdi (pyvhdi, vhdiinfo) as the oracle for Prism-made differencing chains.</summary>
public sealed partial class VhdxLibvhdiInteropTests
{
    private const long MiB = VhdxTestKit.MiB;

    [GeneratedRegex(@"^\s*Identifier\s*:\s*(\S+)", RegexOptions.Multiline)]
    private static partial Regex IdentifierLine();

    [GeneratedRegex(@"^\s*Parent identifier\s*:\s*(\S+)", RegexOptions.Multiline)]
    private static partial Regex ParentIdentifierLine();

    public static TheoryData<int, int> Depths => new()
    {
        { 1, 512 },
        { 2, 512 },
        { 3, 4096 },
    };

    [SkippableTheory]
    [MemberData(nameof(Depths))]
    public void Read_PrismChain_MatchesLibvhdi(int depth, int lss)
    {
        string vhdiinfo = Oracle.Require("vhdiinfo", "libvhdi-utils");
        using var dir = new TempDir();
        const long Size = 24 * MiB;
        var rng = new Random(1000 + depth);
        var paths = new List<string> { dir.File("base.vhdx") };
        byte[] model = new byte[Size];
        VhdxDisk.Create(paths[0], new VhdxCreateOptions { VirtualSize = Size, BlockSize = 2 * MiB, LogicalSectorSize = lss });
        WriteRandom(paths[0], model, rng);
        for (int level = 1; level <= depth; level++)
        {
            string child = dir.File($"child{level}.vhdx");
            VhdxDisk.CreateDifferencing(child, paths[^1], new VhdxDifferencingOptions { BlockSize = MiB });
            paths.Add(child);
            WriteRandom(child, model, rng);
        }

        string prismSha;
        using (VhdxDisk top = VhdxDisk.Open(paths[^1]))
        {
            Assert.Equal(depth + 1, top.Chain.Count);
            VhdxTestKit.AssertSameBytes(model, VhdxTestKit.ReadAll(top), "Prism chain read vs model");
            prismSha = VhdxTestKit.DiskSha256(top);
        }

        (long libvhdiSize, string libvhdiSha) = VhdxTestKit.PyvhdiSha256(dir, paths);
        Assert.Equal(Size, libvhdiSize);
        Assert.Equal(prismSha, libvhdiSha);

        for (int level = 1; level <= depth; level++)
        {
            Guid childGuid;
            Guid parentGuid;
            using (VhdxDisk c = VhdxDisk.Open(paths[level], new VhdxOpenOptions { SkipParent = true }))
            using (VhdxDisk p = VhdxDisk.Open(paths[level - 1], new VhdxOpenOptions { SkipParent = true }))
            {
                childGuid = c.DataWriteGuid;
                parentGuid = p.DataWriteGuid;
                Assert.Equal(parentGuid, c.ParentLinkage);
            }

            string info = Oracle.Run(vhdiinfo, [paths[level]]).StdOut;
            Assert.Equal(childGuid, Guid.Parse(IdentifierLine().Match(info).Groups[1].Value));
            Assert.Equal(parentGuid, Guid.Parse(ParentIdentifierLine().Match(info).Groups[1].Value));
            Assert.Contains("Differential", info, StringComparison.Ordinal);
        }
    }

    private static void WriteRandom(string path, byte[] model, Random rng)
    {
        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        int count = rng.Next(6, 14);
        for (int i = 0; i < count; i++)
        {
            (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, model.Length, 1500 * 1024);
            VhdxTestKit.WriteBoth(disk, model, data, offset);
            if (rng.Next(3) == 0)
            {
                disk.Flush();
            }
        }
    }
}
