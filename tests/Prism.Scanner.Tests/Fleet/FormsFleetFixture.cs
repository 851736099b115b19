using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// Every signature form of the built-in engine on a fleet (#13): the seeded corpora of the clamscan comparison tests
/// (random body forms, typed files and executables, PE layouts with section hashes, logical signatures, file-level
/// hashes and allow/ignore lists, normalised text and HTML, binary data) in an ext4 golden, their databases together as one;
/// clones replace files with those of corpora of other seeds, add such files, or delete files. The oracle is clamscan
/// over each clone's mounted files (<see cref="Ext4Fleet.ClamscanOf"/>).
/// </summary>
public sealed class FormsFleetFixture : Ext4Fleet
{
    public FormsFleetFixture()
    {
        if (!ToolsPresent())
        {
            return;
        }

        // Each corpus in a folder of its own: some name their folders without the seed.
        var temps = new List<TempDir>();
        TempDir T()
        {
            var t = new TempDir();
            temps.Add(t);
            return t;
        }

        try
        {
            // The golden's corpora, and the corpora of other seeds whose files the clones bring in.
            var first = new List<Corpus>
            {
                new("generated", GeneratedCorpus.Create(T(), 31, fileCount: 6, maxFileSize: 300_000)),
                new("typed", TypedCorpus.Create(T(), 3)),
                new("pe", PeCorpus.Create(T(), 2, fileCount: 12)),
                new("ldb", LdbCorpus.Create(T(), 11, signatureCount: 40, fileCount: 8)),
                new("file-level", FileLevelCorpus.Create(T(), 21, signatureCount: 30, fileCount: 8)),
                new("text", TextCorpus.Create(T(), 3, whole: false)),
                new("other", OtherCorpus.Create(T(), 1)),
                new("html", HtmlCorpus.Create(T(), 1)),
            };
            var second = new List<Corpus>
            {
                new("generated", GeneratedCorpus.Create(T(), 32, fileCount: 6, maxFileSize: 300_000)),
                new("typed", TypedCorpus.Create(T(), 4)),
                new("ldb", LdbCorpus.Create(T(), 12, signatureCount: 40, fileCount: 8)),
                new("text", TextCorpus.Create(T(), 4, whole: false)),
                new("other", OtherCorpus.Create(T(), 2)),
                new("html", HtmlCorpus.Create(T(), 2)),
            };

            // One database: every corpus's files, named after their corpus.
            DatabaseDirectory = Directory.CreateDirectory(Dir.File("db")).FullName;
            int set = 0;
            foreach ((string kind, ISignatureCorpus corpus) in first.Concat(second))
            {
                foreach (string file in Directory.EnumerateFiles(corpus.DatabaseDirectory).Order(StringComparer.Ordinal))
                {
                    File.Copy(file, Path.Combine(DatabaseDirectory, $"{set:D2}-{kind}-{Path.GetFileName(file)}"));
                }

                set++;
            }

            Databases = [.. Directory.EnumerateFiles(DatabaseDirectory).Order(StringComparer.Ordinal)];

            string tree = Directory.CreateDirectory(Dir.File("tree")).FullName;
            foreach ((string kind, ISignatureCorpus corpus) in first)
            {
                string folder = Directory.CreateDirectory(Path.Combine(tree, "srv", kind)).FullName;
                foreach (string file in corpus.Files)
                {
                    File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
                    GoldenFiles.Add($"/srv/{kind}/{Path.GetFileName(file)}");
                }
            }

            BuildGolden(tree);
            List<string> incoming = [.. second.SelectMany(c => c.Content.Files)];
            AddClone("untouched", (_, _) => { });
            AddClone("replaced", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
            {
                // An update rewrites every other file in place with another corpus's content.
                for (int i = 0; i < GoldenFiles.Count; i += 2)
                {
                    File.WriteAllBytes(m + GoldenFiles[i], File.ReadAllBytes(incoming[(i / 2) % incoming.Count]));
                }
            }));
            AddClone("added", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
            {
                foreach ((string kind, ISignatureCorpus corpus) in second)
                {
                    string folder = Directory.CreateDirectory(Path.Combine(m, "home", "new", kind)).FullName;
                    foreach (string file in corpus.Files)
                    {
                        File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
                    }
                }
            }));
            AddClone("deleted", (v, s) => FuseMount.WithFuse2fs(v, s, readOnly: false, m =>
            {
                for (int i = 1; i < GoldenFiles.Count; i += 3)
                {
                    File.Delete(m + GoldenFiles[i]);
                }
            }));
            Built = true;
        }
        finally
        {
            foreach (TempDir t in temps)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>The golden's corpus files, by path in the volume.</summary>
    public List<string> GoldenFiles { get; } = [];

    private sealed record Corpus(string Kind, ISignatureCorpus Content);
}
