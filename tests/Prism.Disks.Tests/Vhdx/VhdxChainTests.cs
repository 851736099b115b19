using Prism.Disks.Errors;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>Differencing chains: linkage, missing/remote/odd parents, cycles, depth, parent immutability, the parent cache, the chain map.</summary>
public sealed class VhdxChainTests
{
    private const long MiB = VhdxTestKit.MiB;
    private const long Size = 8 * MiB;

    private static string MakeBase(TempDir dir, string name = "base.vhdx", int lss = 512)
    {
        string path = dir.File(name);
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = Size, BlockSize = MiB, LogicalSectorSize = lss });
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        d.Write(VhdxTestKit.RandomBytes(new Random(1), 300_000), 100_000);
        return path;
    }

    private static string MakeChild(TempDir dir, string parent, string name, VhdxDifferencingOptions? options = null)
    {
        string path = dir.File(name);
        VhdxDisk.CreateDifferencing(path, parent, options ?? new VhdxDifferencingOptions { BlockSize = MiB });
        return path;
    }

    private static Guid DataWriteGuidOf(string path)
    {
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { SkipParent = true });
        return d.DataWriteGuid;
    }

    [Fact]
    public void Open_ParentWrittenAfterChildCreated_ThrowsNamingBothFilesAndGuids()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        Guid linkage = DataWriteGuidOf(parent);
        using (VhdxDisk p = VhdxDisk.Open(parent, new VhdxOpenOptions { Writable = true }))
        {
            p.Write(new byte[] { 1 }, 0);
        }

        Guid now = DataWriteGuidOf(parent);
        Assert.NotEqual(linkage, now);
        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child));
        Assert.Contains(child, e.Message, StringComparison.Ordinal);
        Assert.Contains(parent, e.Message, StringComparison.Ordinal);
        Assert.Contains(linkage.ToString("D"), e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(now.ToString("D"), e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Open_ParentMatchesParentLinkage2Only_Opens()
    {
        // MS-VHDX 2.6.2.6.3: the parent's DataWriteGuid may match either parent_linkage or parent_linkage2.
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        Guid parentGuid = DataWriteGuidOf(parent);
        var other = new Guid("0b5c3f8e-2d41-4e7a-9c16-5f3a2e8d7b90");
        VhdxTestKit.SetLocator(child, ("parent_linkage", other.ToString("B")), ("relative_path", @".\base.vhdx"),
            ("parent_linkage2", parentGuid.ToString("B")));
        using VhdxDisk c = VhdxDisk.Open(child);
        Assert.Equal(2, c.Chain.Count);
        Assert.Equal(parent, c.Parent!.Path);
        Assert.Equal(other, c.ParentLinkage);
        using VhdxDisk p = VhdxDisk.Open(parent);
        Assert.Equal(VhdxTestKit.DiskSha256(p), VhdxTestKit.DiskSha256(c));
    }

    [Fact]
    public void Open_ParentMatchesNeitherLinkage_ThrowsNamingBothFilesAndAllGuids()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        Guid parentGuid = DataWriteGuidOf(parent);
        var linkage = new Guid("0b5c3f8e-2d41-4e7a-9c16-5f3a2e8d7b90");
        var linkage2 = new Guid("7e21a9d4-6c0b-4f35-8a92-1d4e6b3c5f07");
        VhdxTestKit.SetLocator(child, ("parent_linkage", linkage.ToString("B")), ("relative_path", @".\base.vhdx"),
            ("parent_linkage2", linkage2.ToString("B")));
        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child));
        Assert.Contains(child, e.Message, StringComparison.Ordinal);
        Assert.Contains(parent, e.Message, StringComparison.Ordinal);
        Assert.Contains(parentGuid.ToString("D"), e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"parent_linkage is {linkage:B}", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"parent_linkage2 {linkage2:B}", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Open_ZeroParentLinkage2_IsAbsentNotAWildcard()
    {
        // Hyper-V writes parent_linkage2 = {00000000-...}: it means "no alternative", so a wrong parent_linkage still fails.
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        var linkage = new Guid("0b5c3f8e-2d41-4e7a-9c16-5f3a2e8d7b90");
        VhdxTestKit.SetLocator(child, ("parent_linkage", linkage.ToString("B")), ("relative_path", @".\base.vhdx"),
            ("parent_linkage2", Guid.Empty.ToString("B")));
        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child));
        Assert.Contains(linkage.ToString("D"), e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("parent_linkage2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ParentOpenedWritableWithoutWriting_ChildStillValid()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        using (VhdxDisk p = VhdxDisk.Open(parent, new VhdxOpenOptions { Writable = true }))
        {
            p.Flush();
        }

        using VhdxDisk c = VhdxDisk.Open(child);
        Assert.Equal(2, c.Chain.Count);
    }

    [Fact]
    public void Open_MissingParent_ThrowsChainException()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        File.Delete(parent);
        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child));
        Assert.Contains(child, e.Message, StringComparison.Ordinal);
        Assert.Contains("base.vhdx", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relative_path")]
    [InlineData("absolute_win32_path")]
    public void Open_UncParentPath_RefusedUnlessRemoteAllowed(string key)
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        VhdxTestKit.SetLocator(child, ("parent_linkage", DataWriteGuidOf(parent).ToString("B")), (key, @"\\server\share\p.vhdx"));
        DiskChainException refused = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child));
        Assert.Contains("remote", refused.Message, StringComparison.Ordinal);
        Assert.Contains(@"\\server\share\p.vhdx", refused.Message, StringComparison.Ordinal);

        // Allowed: it is followed (and not found here), which is a different error.
        DiskChainException notFound = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child, new VhdxOpenOptions { AllowRemoteParents = true }));
        Assert.DoesNotContain("refusing", notFound.Message, StringComparison.Ordinal);
        Assert.Contains("not found", notFound.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_ParentIsFifo_RefusedWithoutHanging()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        File.Delete(parent);
        Oracle.Run("mkfifo", [parent]);
        Task<Exception?> open = Task.Run<Exception?>(() => Record.Exception(() => VhdxDisk.Open(child).Dispose()));
        Assert.True(await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(20))) == open, "open of a child whose parent is a FIFO hangs");
        DiskChainException e = Assert.IsType<DiskChainException>(await open);
        Assert.Contains(parent, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ParentIsDirectory_Refused()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "child.vhdx");
        File.Delete(parent);
        Directory.CreateDirectory(parent);
        Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child));
        Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child, new VhdxOpenOptions { ParentPath = dir.Path }));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Open_TwoChildrenPointingAtEachOther_ThrowsCycle(bool useCache)
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string a = MakeChild(dir, parent, "a.vhdx");
        string b = MakeChild(dir, parent, "b.vhdx");
        VhdxTestKit.SetLocator(a, ("parent_linkage", DataWriteGuidOf(b).ToString("B")), ("relative_path", @".\b.vhdx"));
        VhdxTestKit.SetLocator(b, ("parent_linkage", DataWriteGuidOf(a).ToString("B")), ("relative_path", @".\a.vhdx"));
        using var cache = new VhdxParentCache();
        var options = new VhdxOpenOptions { ParentCache = useCache ? cache : null };
        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(a, options));
        Assert.Contains("cycle", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ChainDeeperThanMaxDepth_Throws()
    {
        using var dir = new TempDir();
        string top = MakeBase(dir);
        for (int i = 0; i < 3; i++)
        {
            top = MakeChild(dir, top, $"c{i}.vhdx");
        }

        using (VhdxDisk ok = VhdxDisk.Open(top, new VhdxOpenOptions { MaxChainDepth = 4 }))
        {
            Assert.Equal(4, ok.Chain.Count);
        }

        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(top, new VhdxOpenOptions { MaxChainDepth = 3 }));
        Assert.Contains("deeper", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ExplicitParentPathToUnrelatedDisk_ThrowsMismatch()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string other = MakeBase(dir, "other.vhdx");
        string child = MakeChild(dir, parent, "child.vhdx");
        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(child, new VhdxOpenOptions { ParentPath = other }));
        Assert.Contains(other, e.Message, StringComparison.Ordinal);
        using VhdxDisk good = VhdxDisk.Open(child, new VhdxOpenOptions { ParentPath = parent });
        Assert.Equal(parent, good.Parent!.Path);
    }

    [Fact]
    public void Write_ChildOfChainWrites_NeverChangeParentFiles()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string mid = MakeChild(dir, parent, "mid.vhdx");
        string top = MakeChild(dir, mid, "top.vhdx");
        string[] hashes = [VhdxTestKit.FileSha256(parent), VhdxTestKit.FileSha256(mid)];
        byte[] model;
        using (VhdxDisk d = VhdxDisk.Open(top, new VhdxOpenOptions { Writable = true }))
        {
            model = VhdxTestKit.ReadAll(d);
            var rng = new Random(3);
            for (int i = 0; i < 20; i++)
            {
                (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, Size, 2 * (int)MiB);
                VhdxTestKit.WriteBoth(d, model, data, offset);
            }
        }

        Assert.Equal(hashes, new[] { VhdxTestKit.FileSha256(parent), VhdxTestKit.FileSha256(mid) });
        using VhdxDisk again = VhdxDisk.Open(top);
        VhdxTestKit.AssertSameBytes(model, VhdxTestKit.ReadAll(again), "top after reopen");
        Assert.All(again.Chain.Skip(1), p => Assert.False(p.IsWritable));
    }

    [Fact]
    public void Open_ManyChildrenWithParentCache_ShareOneParentInstance()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        byte[] parentBytes;
        using (VhdxDisk p = VhdxDisk.Open(parent))
        {
            parentBytes = VhdxTestKit.ReadAll(p);
        }

        var children = Enumerable.Range(0, 6).Select(i => MakeChild(dir, parent, $"clone{i}.vhdx")).ToList();
        using var cache = new VhdxParentCache();
        var opened = children.Select(c => VhdxDisk.Open(c, new VhdxOpenOptions { ParentCache = cache, Writable = true })).ToList();
        try
        {
            Assert.Equal(1, cache.Count);
            Assert.All(opened, d => Assert.Same(opened[0].Parent, d.Parent));
            for (int i = 0; i < opened.Count; i++)
            {
                opened[i].Write(new byte[] { (byte)(i + 1) }, i * 4096);
            }

            opened[0].Dispose();
            for (int i = 1; i < opened.Count; i++)
            {
                byte[] expected = (byte[])parentBytes.Clone();
                expected[i * 4096] = (byte)(i + 1);
                VhdxTestKit.AssertSameBytes(expected, VhdxTestKit.ReadAll(opened[i]), $"clone {i} after clone 0 closed");
            }
        }
        finally
        {
            opened.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public void GetChainMap_TwoLayers_MatchesPerSectorModel()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = Size, BlockSize = MiB });
        int sectors = (int)(Size / 512);
        int[] owner = Enumerable.Repeat(-1, sectors).ToArray();
        var rng = new Random(21);
        using (VhdxDisk p = VhdxDisk.Open(parent, new VhdxOpenOptions { Writable = true }))
        {
            for (int i = 0; i < 3; i++)
            {
                (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, Size, 500_000);
                p.Write(data, offset);
                for (long b = offset / MiB; b <= (offset + data.Length - 1) / MiB; b++)
                {
                    Array.Fill(owner, 1, (int)(b * MiB / 512), (int)(MiB / 512)); // dynamic disks allocate whole blocks
                }
            }
        }

        string child = MakeChild(dir, parent, "c.vhdx");
        using (VhdxDisk c = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true }))
        {
            for (int i = 0; i < 6; i++)
            {
                (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, Size, 1_500_000);
                c.Write(data, offset);
                Array.Fill(owner, 0, (int)(offset / 512), (int)(((offset + data.Length + 511) / 512) - (offset / 512)));
            }
        }

        using VhdxDisk disk = VhdxDisk.Open(child);
        int[] mapped = Enumerable.Repeat(-1, sectors).ToArray();
        foreach (ChainRange r in disk.GetChainMap())
        {
            Assert.True(r.Offset % 512 == 0 && r.Length % 512 == 0);
            Array.Fill(mapped, r.Layer, (int)(r.Offset / 512), (int)(r.Length / 512));
        }

        for (int s = 0; s < sectors; s++)
        {
            Assert.True(owner[s] == mapped[s], $"sector {s}: model layer {owner[s]}, map layer {mapped[s]}");
        }
    }

    [Fact]
    public async Task Read_ConcurrentReadersOnAChain_SeeTheModel()
    {
        using var dir = new TempDir();
        string parent = MakeBase(dir);
        string child = MakeChild(dir, parent, "c.vhdx");
        byte[] model;
        using (VhdxDisk c = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true }))
        {
            model = VhdxTestKit.ReadAll(c);
            var rng = new Random(12);
            for (int i = 0; i < 40; i++)
            {
                (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, Size, 40_000);
                VhdxTestKit.WriteBoth(c, model, data, offset);
            }
        }

        using VhdxDisk disk = VhdxDisk.Open(child);
        Task[] readers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var rng = new Random(t);
            for (int i = 0; i < 400; i++)
            {
                long offset = rng.NextInt64(0, Size - 1);
                byte[] buf = new byte[(int)Math.Min(rng.Next(1, 200_000), Size - offset)];
                disk.Read(buf, offset);
                VhdxTestKit.AssertSameBytes(model.AsSpan((int)offset, buf.Length), buf, $"reader {t} at 0x{offset:X}");
            }
        })).ToArray();
        await Task.WhenAll(readers);
    }
}

