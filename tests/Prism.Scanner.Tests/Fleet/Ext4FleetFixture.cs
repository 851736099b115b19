using System.Security.Cryptography;
using System.Text;
using Prism.Disks.Vhdx;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// A Linux golden: an ext4 volume built with mke2fs -d from a small server-like tree (with signatures planted by a
/// seeded generator), in an MBR disk (type 83) imported into a dynamic VHDX; clones changed the way a guest changes
/// its system disk, through a fuse2fs read-write mount (package upgrade, web shell, log append, delete and reuse,
/// rename, a directory of many files) or debugfs (a journal left dirty), each child holding only the 4 KiB sectors
/// the change wrote. The oracle is clamscan over the regular files of a fuse2fs mount of the flattened clone (after
/// e2fsck -fy replays a dirty journal on a copy).
/// </summary>
public sealed class Ext4FleetFixture : Ext4Fleet
{

    public Ext4FleetFixture()
    {
        if (!ToolsPresent())
        {
            return;
        }

        var rng = new Random(20261206);
        byte[] Frag(int n)
        {
            byte[] b = new byte[n];
            rng.NextBytes(b);
            return b;
        }

        static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);

        Eicar = Encoding.ASCII.GetBytes(GeneratedCorpus.Eicar);
        byte[] wa = Frag(12), wb = Frag(10), wc = Frag(16);
        Wild = [.. wa, .. Frag(2), .. wb, .. Frag(7), .. wc];
        Plain = Frag(32);
        HashedMd5 = Frag(50_000);
        HashedSha = Frag(70_000);
        DatabaseDirectory = Directory.CreateDirectory(Dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(DatabaseDirectory, "linux.ndb"),
            $"Prism.Linux.Eicar:0:*:{Hex(Eicar)}\n"
            + $"Prism.Linux.Wild:0:*:{Hex(wa)}????{Hex(wb)}{{4-12}}{Hex(wc)}\n"
            + $"Prism.Linux.Plain:0:*:{Hex(Plain)}\n");
#pragma warning disable CA5351 // ClamAV .hdb signatures are MD5.
        File.WriteAllText(Path.Combine(DatabaseDirectory, "linux.hdb"), $"{Hex(MD5.HashData(HashedMd5))}:{HashedMd5.Length}:Prism.Linux.Md5\n");
#pragma warning restore CA5351
        File.WriteAllText(Path.Combine(DatabaseDirectory, "linux.hsb"), $"{Hex(SHA256.HashData(HashedSha))}:{HashedSha.Length}:Prism.Linux.Sha256\n");
        Databases = [.. new[] { "linux.ndb", "linux.hdb", "linux.hsb" }.Select(d => Path.Combine(DatabaseDirectory, d))];

        // The golden tree.
        string tree = Directory.CreateDirectory(Dir.File("tree")).FullName;
        void Put(string path, byte[] data)
        {
            string full = tree + path;
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, data);
        }

        Put("/etc/hostname", Encoding.ASCII.GetBytes("golden\n"));
        Put("/etc/passwd", Encoding.ASCII.GetBytes("root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"));
        for (int i = 0; i < 8; i++)
        {
            Put($"/usr/bin/tool{i}", Frag(20_000 + (i * 37_000)));
        }

        Put("/usr/bin/dropper", Embed(Frag(90_000), Wild, 45_000));
        Put("/usr/lib/x86_64-linux-gnu/libbig.so", Frag(1_800_000));
        Put("/usr/share/doc/readme.txt", Frag(12_000));
        Put("/var/www/html/index.php", Encoding.ASCII.GetBytes("<?php echo 'hello'; ?>\n"));
        Put("/var/log/app.log", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"log line {i}\n"))));
        Put("/home/user/eicar.txt", Embed(Frag(3_000), Eicar, 500));
        Put("/home/user/old.bin", Embed(Frag(600_000), Plain, 300_000));
        Put("/home/user/md5.bin", HashedMd5);
        string deep = "/opt";
        for (int i = 0; i < 10; i++)
        {
            deep += $"/d{i}";
        }

        Put(deep + "/leaf.bin", Embed(Frag(8_000), Plain, 7_000));
        File.CreateSymbolicLink(tree + "/usr/bin/link-to-dropper", "dropper");
        Oracle.Run("/bin/ln", [tree + "/usr/bin/dropper", tree + "/usr/lib/dropper-hardlink"]);

        BuildGolden(tree);

        // Clones.
        AddClone("untouched", (_, _) => { });
        AddClone("upgrade", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
        {
            // dpkg-like: a new file beside each, renamed over the old one.
            for (int i = 0; i < 4; i++)
            {
                string target = Path.Combine(m, "usr", "bin", $"tool{i}");
                File.WriteAllBytes(target + ".dpkg-new", i == 2 ? Embed(Frag(50_000), Wild, 10_000) : Frag(25_000 + (i * 1_000)));
                File.Move(target + ".dpkg-new", target, overwrite: true);
            }
        }));
        AddClone("webshell", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
            File.WriteAllBytes(Path.Combine(m, "var", "www", "html", "shell.php"), Embed(Encoding.ASCII.GetBytes("<?php system($_GET['c']); ?>\n" + new string(' ', 200)), Eicar, 40))));
        AddClone("logappend", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
        {
            using var f = new FileStream(Path.Combine(m, "var", "log", "app.log"), FileMode.Append);
            f.Write(Encoding.ASCII.GetBytes("appended by the guest\n"));
            f.Write(Embed(Frag(5_000), Plain, 4_000));
        }));
        AddClone("delete-reuse", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
        {
            File.Delete(Path.Combine(m, "home", "user", "old.bin"));
            File.WriteAllBytes(Path.Combine(m, "home", "user", "new.bin"), [.. HashedSha]);
            File.WriteAllBytes(Path.Combine(m, "home", "user", "filler.bin"), Frag(500_000));
        }));
        AddClone("rename", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
        {
            Directory.CreateDirectory(Path.Combine(m, "tmp"));
            File.Move(Path.Combine(m, "home", "user", "eicar.txt"), Path.Combine(m, "tmp", "renamed.txt"));
            Directory.Move(Path.Combine(m, "opt", "d0"), Path.Combine(m, "opt", "moved"));
        }));
        AddClone("many-files", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
        {
            string cache = Directory.CreateDirectory(Path.Combine(m, "srv", "cache")).FullName;
            for (int i = 0; i < 400; i++)
            {
                File.WriteAllBytes(Path.Combine(cache, $"entry-{i:D4}-{new string('c', i % 40)}.dat"),
                    i == 123 ? Embed(Frag(3_000), Plain, 10) : i == 321 ? HashedMd5 : Frag(i * 7));
            }
        }));
        AddClone("dirty-journal", (v, s) =>
        {
            // A committed transaction never checkpointed: the journal alone says readme.txt's first block now holds Plain.
            string debugfs = Oracle.Require("debugfs", "e2fsprogs");
            string bmap = Oracle.Run(debugfs, ["-R", "bmap /usr/share/doc/readme.txt 0", v]).StdOut.Trim();
            long block = long.Parse(bmap, System.Globalization.CultureInfo.InvariantCulture);
            string payload = Path.Combine(s, "journal-payload.bin");
            File.WriteAllBytes(payload, Embed(Frag(4096), Plain, 1_000));
            string commands = Path.Combine(s, "journal.cmds");
            File.WriteAllLines(commands, ["jo", $"jw -b {block} {payload}", "jc"]);
            Oracle.Run(debugfs, ["-w", "-f", commands, v]);
            DirtyBlock = block;
        });
        Built = true;
    }

    /// <summary>The block of readme.txt the dirty journal rewrites.</summary>
    public long DirtyBlock { get; private set; }
}
