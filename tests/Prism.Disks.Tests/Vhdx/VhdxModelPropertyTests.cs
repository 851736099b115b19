using FsCheck;
using FsCheck.Fluent;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// Model-based properties: random write/flush/reopen sequences on chains of depth 1-3 behave like a byte array.
/// </summary>
public sealed class VhdxModelPropertyTests
{
    private const long MiB = VhdxTestKit.MiB;

    /// <summary>One step on the top layer. Kind 0 = write, 1 = flush, 2 = reopen.</summary>
    public sealed record Step(int Kind, long Offset, int Length, int Seed)
    {
        public override string ToString() => Kind switch
        {
            0 => $"W(0x{Offset:X},{Length},{Seed})",
            1 => "F",
            _ => "R",
        };
    }

    /// <summary>A chain of <see cref="Depth"/> files (1 = a lone dynamic disk), the sector size and the steps.</summary>
    public sealed record Scenario(int Depth, int Lss, long VirtualSize, int LowerSeed, Step[] Steps)
    {
        public override string ToString() => $"depth {Depth}, lss {Lss}, size {VirtualSize / MiB} MiB, lower {LowerSeed}: {string.Join(' ', Steps.Select(s => s.ToString()))}";
    }

    private static Gen<Step> StepGen(long size) =>
        Gen.Frequency(
            (6, from offset in Gen.Choose(0, (int)(size - 1))
                from kind in Gen.Choose(0, 3)
                from length in kind switch
                {
                    0 => Gen.Choose(1, 700), // sub-sector and few-sector writes
                    1 => Gen.Choose(1, 9000),
                    2 => Gen.Choose(MiB - 600 < 0 ? 1 : (int)MiB - 600, (int)MiB + 600), // around a block
                    _ => Gen.Choose(1, (int)(2.5 * MiB)), // crosses blocks
                }
                from seed in Gen.Choose(0, int.MaxValue)
                select new Step(0, offset, (int)Math.Min(length, size - offset), seed)),
            (1, Gen.Constant(new Step(1, 0, 0, 0))),
            (1, Gen.Constant(new Step(2, 0, 0, 0))));

    private static readonly Gen<Scenario> s_scenarios =
        from depth in Gen.Choose(1, 3)
        from lss in Gen.Elements(512, 512, 4096)
        from sizeMiB in Gen.Choose(16, 40)
        from lowerSeed in Gen.Choose(0, int.MaxValue)
        from steps in Gen.ArrayOf(StepGen(sizeMiB * MiB), 12)
        select new Scenario(depth, lss, sizeMiB * MiB, lowerSeed, steps);

    [Fact]
    public void WriteFlushReopen_RandomSequencesOnChains_MatchByteArrayModel()
    {
        Property property = Prop.ForAll(s_scenarios.ToArbitrary(), scenario =>
        {
            Run(scenario);
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30), property);
    }

    private static void Run(Scenario s)
    {
        using var dir = new TempDir();
        byte[] model = new byte[s.VirtualSize];
        var lower = new Random(s.LowerSeed);
        string top = dir.File("layer0.vhdx");
        VhdxDisk.Create(top, new VhdxCreateOptions { VirtualSize = s.VirtualSize, BlockSize = MiB, LogicalSectorSize = s.Lss });
        var lowerFiles = new List<string>();
        for (int level = 1; level < s.Depth; level++)
        {
            using (VhdxDisk d = VhdxDisk.Open(top, new VhdxOpenOptions { Writable = true }))
            {
                for (int i = 0; i < 5; i++)
                {
                    (long offset, byte[] data) = VhdxTestKit.RandomWrite(lower, s.VirtualSize, 3 * (int)MiB);
                    VhdxTestKit.WriteBoth(d, model, data, offset);
                }
            }

            lowerFiles.Add(top);
            string child = dir.File($"layer{level}.vhdx");
            VhdxDisk.CreateDifferencing(child, top, new VhdxDifferencingOptions { BlockSize = MiB });
            top = child;
        }

        var lowerHashes = lowerFiles.Select(VhdxTestKit.FileSha256).ToList();
        VhdxDisk disk = VhdxDisk.Open(top, new VhdxOpenOptions { Writable = true });
        try
        {
            foreach (Step step in s.Steps)
            {
                switch (step.Kind)
                {
                    case 0:
                        VhdxTestKit.WriteBoth(disk, model, VhdxTestKit.RandomBytes(new Random(step.Seed), step.Length), step.Offset);
                        byte[] back = new byte[step.Length];
                        disk.Read(back, step.Offset);
                        VhdxTestKit.AssertSameBytes(model.AsSpan((int)step.Offset, step.Length), back, $"read-after-write {step}");
                        break;
                    case 1:
                        disk.Flush();
                        break;
                    default:
                        disk.Dispose();
                        disk = VhdxDisk.Open(top, new VhdxOpenOptions { Writable = true });
                        Assert.Equal(Guid.Empty, disk.LogGuid);
                        Assert.Equal(s.Depth, disk.Chain.Count);
                        VhdxTestKit.AssertNoCheckErrors(disk);
                        VhdxTestKit.AssertSameBytes(model, VhdxTestKit.ReadAll(disk), "after reopen");
                        break;
                }
            }

            VhdxTestKit.AssertSameBytes(model, VhdxTestKit.ReadAll(disk), "before close");
        }
        finally
        {
            disk.Dispose();
        }

        using (VhdxDisk ro = VhdxDisk.Open(top))
        {
            Assert.Equal(Guid.Empty, ro.LogGuid);
            foreach (VhdxDisk layer in ro.Chain)
            {
                VhdxTestKit.AssertNoCheckErrors(layer);
            }

            VhdxTestKit.AssertSameBytes(model, VhdxTestKit.ReadAll(ro), "fresh read-only open");

            // The allocation map covers exactly what differs from the layers below... at least: every byte that is
            // non-zero in the model is served by some layer.
            IReadOnlyList<ChainRange> map = ro.GetChainMap();
            long covered = 0;
            foreach (ChainRange r in map)
            {
                Assert.True(r.Offset >= covered, "chain map not ascending");
                Assert.False(model.AsSpan((int)covered, (int)(r.Offset - covered)).ContainsAnyExcept((byte)0),
                    $"non-zero bytes in 0x{covered:X}..0x{r.Offset:X} that no layer serves");
                covered = r.End;
            }

            Assert.False(model.AsSpan((int)covered).ContainsAnyExcept((byte)0), "non-zero bytes after the last mapped range");
        }

        Assert.Equal(lowerHashes, lowerFiles.Select(VhdxTestKit.FileSha256).ToList());
    }
}
