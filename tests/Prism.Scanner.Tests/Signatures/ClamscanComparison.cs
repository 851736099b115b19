using Prism.Scanner.Signatures;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// The Prism side of a comparison with clamscan (<see cref="ClamscanOracle"/>): every file scanned whole, as a stream if
/// asked, and appended to a <see cref="ScanSession"/> in chunks (its length told or not), each time with the same
/// signature names as clamscan found in it. Shared by the *ComparisonTests classes of this folder.
/// </summary>
internal static class ClamscanComparison
{
    /// <summary>
    /// Asserts, file by file, that Prism finds exactly <paramref name="expected"/>[file] in every way of scanning it:
    /// whole, as a <see cref="FileStream"/> when <paramref name="stream"/>, and through a session per chunking.
    /// </summary>
    public static void AssertSameEveryWay(SignatureDatabase db, IReadOnlyList<string> files, Dictionary<string, SortedSet<string>> expected,
        ITestOutputHelper output, bool stream, params (int Chunk, bool KnownLength)[] chunkings)
    {
        foreach (string file in files)
        {
            output.WriteLine($"{Path.GetFileName(file)}: {string.Join(", ", expected[file])}");
            byte[] data = File.ReadAllBytes(file);
            AssertSame(expected[file], db.Scan(data), file, "whole span");
            if (stream)
            {
                using FileStream s = File.OpenRead(file);
                AssertSame(expected[file], db.Scan(s), file, "stream");
            }

            foreach ((int chunk, bool knownLength) in chunkings)
            {
                using ScanSession session = db.CreateSession(knownLength ? data.Length : null);
                for (int offset = 0; offset < data.Length; offset += chunk)
                {
                    session.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
                }

                AssertSame(expected[file], session.Complete(), file, $"chunks of {chunk}, length {(knownLength ? "known" : "unknown")}");
            }
        }
    }

    /// <summary>Prism's detections in <paramref name="file"/> carry exactly clamscan's signature names.</summary>
    public static void AssertSame(SortedSet<string> expected, IReadOnlyList<Detection> actual, string file, string how)
    {
        var names = new SortedSet<string>(actual.Select(d => d.SignatureName), StringComparer.Ordinal);
        Assert.True(expected.SetEquals(names),
            $"{Path.GetFileName(file)} ({how}): clamscan [{string.Join(", ", expected)}] vs Prism [{string.Join(", ", names)}]; "
            + $"only clamscan [{string.Join(", ", expected.Except(names))}], only Prism [{string.Join(", ", names.Except(expected))}]");
    }

    /// <summary>
    /// Against a vacuous comparison: each of <paramref name="forms"/> is part of a signature name clamscan reported for
    /// some file.
    /// </summary>
    public static void AssertEveryFormReported(Dictionary<string, SortedSet<string>> expected, IEnumerable<string> forms)
    {
        var all = expected.Values.SelectMany(s => s).ToList();
        foreach (string form in forms)
        {
            Assert.True(all.Any(n => n.Contains(form, StringComparison.Ordinal)), $"clamscan never reported {form}");
        }
    }
}
