using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// What the ext4 golden fleets share: the golden built with mke2fs -d from a tree (fixed UUID and hash seed, fake time)
/// in an MBR disk (type 83) imported into a dynamic VHDX, the tools they need, and the oracle — clamscan over the
/// regular files of a fuse2fs mount of the flattened disk.
/// </summary>
public abstract class Ext4Fleet : FleetFixture
{
    public static bool ToolsPresent() =>
        new[] { "mke2fs", "debugfs", "e2fsck", "fuse2fs", "sfdisk", "fusermount", "clamscan" }.All(t => Oracle.Find(t) is not null)
        && File.Exists("/dev/fuse");

    /// <summary>Skips (or fails under PRISM_REQUIRE_ORACLES=1) when a tool is missing.</summary>
    public void Require()
    {
        Oracle.Require("mke2fs", "e2fsprogs");
        Oracle.Require("debugfs", "e2fsprogs");
        Oracle.Require("e2fsck", "e2fsprogs");
        Oracle.Require("fuse2fs", "fuse2fs");
        Oracle.Require("sfdisk", "fdisk");
        Oracle.Require("fusermount", "fuse3");
        Oracle.Require("clamscan", "clamav");
        Oracle.RequireFuse();

        Assert.True(Built, "ext4 golden fleet not built");
    }

    /// <summary>clamscan --allmatch (or not) over the regular files of the flattened disk's ext4 volume (cached per disk).</summary>
    internal HashSet<Hit> ClamscanOf(string vhdx, bool allMatch = true) => CachedOracle(vhdx, vhdx + (allMatch ? "" : ":first"), volume =>
    {
        // e2fsck -fy replays a dirty journal into this copy, as the kernel would at mount.
        ProcessResult r = Oracle.Run(Oracle.Require("e2fsck", "e2fsprogs"), ["-fy", volume], check: false);
        Assert.True(r.ExitCode is 0 or 1, $"e2fsck -fy exited {r.ExitCode}: {r.StdOut}{r.StdErr}");
        return FuseMount.WithFuse2fs(volume, Dir.Path, readOnly: true, m =>
        {
            var targets = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string file in Directory.EnumerateFiles(m, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                // clamscan says "Empty file" for empty ones (no finding either way).
                if (new FileInfo(file) is { LinkTarget: null, Length: > 0 })
                {
                    targets[file] = "/" + Path.GetRelativePath(m, file);
                }
            }

            var found = new HashSet<Hit>();
            foreach ((string file, SortedSet<string> sigs) in ClamscanOracle.Scan(Databases, [.. targets.Keys], allMatch))
            {
                foreach (string sig in sigs)
                {
                    found.Add(new Hit(targets[file], null, sig));
                }
            }

            return found;
        });
    });

    protected static void Run(string tool, string[] args) =>
        Oracle.Run(tool, args, environment: new Dictionary<string, string> { ["E2FSPROGS_FAKE_TIME"] = "1700000000" });

    /// <summary>Builds the golden volume from <paramref name="tree"/> and its VHDX (<see cref="FleetFixture.GoldenPath"/>).</summary>
    protected void BuildGolden(string tree)
    {
        string golden = Dir.File("golden.vol");
        using (FileStream f = File.Create(golden))
        {
            f.SetLength(FleetDisks.VolumeSize);
        }

        Run(Oracle.Require("mke2fs", "e2fsprogs"), ["-q", "-F", "-t", "ext4", "-b", "4096", "-U", "6a1c2a9e-6b3d-4e8f-9a21-5c7d0e3b8f47",
            "-E", "hash_seed=6a1c2a9e-6b3d-4e8f-9a21-5c7d0e3b8f47", "-d", tree, golden]);
        SetGoldenVolume(golden);
        string raw = Dir.File("golden.raw");
        FleetDisks.AssembleDisk(golden, raw, "83");
        GoldenPath = Dir.File("golden.vhdx");
        FleetDisks.Import(raw, GoldenPath);
        File.Delete(raw);
    }

    /// <summary>A clone of the golden (its changed volume not kept: no clone is based on another).</summary>
    protected void AddClone(string name, Action<string, string> guest) => AddClone(name, "golden", guest, keepVolume: false);
}
