using System.IO.Compression;

namespace Prism.Testing;

/// <summary>The shared corpus of real disk images at ../shared/corpus (next to the repository).</summary>
public static class Corpus
{
    /// <summary>The corpus root, found by walking up from the test binary; null when absent.</summary>
    public static string? Root { get; } = FindRoot();

    private static string? FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("PRISM_CORPUS");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }

        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = System.IO.Path.Combine(d.FullName, "shared", "corpus");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Unpacks a corpus file (relative to the corpus root; .gz, .bz2 or .xz) into <paramref name="dir"/> and returns the path.
    /// Skips the test when the corpus is missing, unless PRISM_REQUIRE_ORACLES=1.
    /// </summary>
    public static string Unpack(string relativePath, TempDir dir)
    {
        if (Root is null)
        {
            if (Oracle.Required)
            {
                throw new InvalidOperationException("../shared/corpus not found and PRISM_REQUIRE_ORACLES=1");
            }

            Xunit.Skip.If(true, "../shared/corpus not found next to the repository");
        }

        string source = System.IO.Path.Combine(Root!, relativePath);
        string name = System.IO.Path.GetFileName(relativePath);
        string ext = System.IO.Path.GetExtension(name);
        string target = dir.File(System.IO.Path.GetFileNameWithoutExtension(name));
        switch (ext)
        {
            case ".gz":
                using (FileStream input = System.IO.File.OpenRead(source))
                using (var gz = new GZipStream(input, CompressionMode.Decompress))
                using (FileStream output = System.IO.File.Create(target))
                {
                    gz.CopyTo(output);
                }

                break;
            case ".bz2":
                Oracle.Run("/bin/sh", ["-c", $"bzip2 -dc '{source}' > '{target}'"]);
                break;
            case ".xz":
                Oracle.Run("/bin/sh", ["-c", $"xz -dc '{source}' > '{target}'"]);
                break;
            default:
                System.IO.File.Copy(source, target);
                break;
        }

        return target;
    }
}
