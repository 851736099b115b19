using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// clamscan's normalised-text rescan buffers (<see cref="TextNormalizer"/>), checked against clamscan on built
/// files: a white-space run across a buffer boundary gives two spaces (the run state resets), the last maxpatlen
/// bytes of a buffer (the longest target-7 pattern, logical subsignatures included) are matched again at the start of the next (a logical signature counts them twice), with the
/// whole-file normalisation (a target-7 EOF-n signature) the boundaries fall every 128 KiB + maxpatlen input bytes
/// without a carried tail, and files over 20 MiB are not rescanned.
/// </summary>
public sealed class TextRescanBufferTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(9, false)]
    [InlineData(60, false)]
    [InlineData(9, true)]
    [InlineData(60, true)]
    public void Rescan_AcrossBufferBoundary_SameNamesAsClamscan(int maxPatternLength, bool whole)
    {
        var ndb = new StringBuilder();
        ndb.Append("Single:0:*:").Append(Hex("qqmarkone qqmarktwo")).Append('\n');
        ndb.Append("Double:0:*:").Append(Hex("qqmarkone  qqmarktwo")).Append('\n');
        // The longest target-7 pattern (clamscan's maxpatlen): the logical signatures' 9 bytes, or a longer one.
        if (maxPatternLength > 9)
        {
            ndb.Append("Long7:7:*:").Append(Hex(new string('z', maxPatternLength))).Append('\n');
        }

        if (whole)
        {
            ndb.Append("Whole7:7:EOF-3:").Append(Hex("zzz")).Append('\n');
        }

        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(dbDir, "b.ndb"), ndb.ToString());
        File.WriteAllText(Path.Combine(dbDir, "b.ldb"), $"Twice7;Target:7;0=2;{Hex("qqmarkone")}\nOnce7;Target:7;0=1;{Hex("qqmarkone")}\n");

        // Single-spaced lowercase words (normalised as they are) up to the boundary, which falls inside a space run.
        int boundary = whole ? TextNormalizer.ScanBufferSize + maxPatternLength : TextNormalizer.ScanBufferSize;
        var rng = new Random(maxPatternLength + (whole ? 1 : 0));
        string[] words = ["abc", "defg", "hij", "klmno"];
        var text = new StringBuilder();
        while (text.Length < boundary - 40)
        {
            text.Append(words[rng.Next(words.Length)]).Append(' ');
        }

        // "qqmarkone", a space before the boundary and a tab after it; neither phrase is in the raw file.
        text.Append('x', boundary - 11 - text.Length).Append(" qqmarkone \tqqmarktwo ");
        while (text.Length < boundary + 3000)
        {
            text.Append(words[rng.Next(words.Length)]).Append(' ');
        }

        string file = _dir.File("boundary.txt");
        byte[] data = Encoding.ASCII.GetBytes(text.ToString());
        File.WriteAllBytes(file, data);
        SortedSet<string> expected = ClamscanOracle.Scan([dbDir], [file])[file];

        // What clamscan did: two spaces across the boundary, never one; buffered, the tail carried into the next buffer
        // ("qmarkone " with a maxpatlen of 9, "...qqmarkone " with 60) is matched and counted again, so the phrase is
        // seen there only when the tail holds all of "qqmarkone ".
        bool carriesMarker = !whole && maxPatternLength >= "qqmarkone ".Length;
        Assert.Equal(whole || carriesMarker, expected.Contains("Double"));
        Assert.DoesNotContain("Single", expected);
        Assert.Equal(carriesMarker, expected.Contains("Twice7"));
        Assert.Equal(!carriesMarker, expected.Contains("Once7"));

        SignatureDatabase db = SignatureDatabase.Load(dbDir);
        Assert.Empty(db.Issues);
        AssertSame(expected, db.Scan(data), "whole span");
        foreach (int chunk in new[] { 1000, 4096, 100_000 })
        {
            using ScanSession session = db.CreateSession(chunk == 4096 ? data.Length : null);
            for (int offset = 0; offset < data.Length; offset += chunk)
            {
                session.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
            }

            AssertSame(expected, session.Complete(), $"chunks of {chunk}");
        }
    }

    [SkippableFact]
    public void Rescan_FileOverMaxScriptNormalize_NotRescanned()
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(dbDir, "m.ndb"), $"Norm7:7:*:{Hex("qqmarkone qqmarktwo")}\n");
        byte[] data = new byte[TextRescanPlan.MaxFileSize];
        data.AsSpan().Fill((byte)'a');
        Encoding.ASCII.GetBytes("  QQMARKONE\t\tqqmarktwo ").CopyTo(data, 1000);
        string atLimit = _dir.File("limit.txt");
        string over = _dir.File("over.txt");
        File.WriteAllBytes(atLimit, data);
        File.WriteAllBytes(over, [.. data, (byte)'a']);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([dbDir], [atLimit, over]);
        Assert.Equal(["Norm7"], expected[atLimit]);
        Assert.Empty(expected[over]);

        SignatureDatabase db = SignatureDatabase.Load(dbDir);
        AssertSame(expected[atLimit], db.Scan(data), "at the limit");
        using ScanSession session = db.CreateSession();
        session.Append(data);
        session.Append([(byte)'a']);
        AssertSame(expected[over], session.Complete(), "one byte over, length unknown");
    }

    /// <summary>
    /// Mail typed by ClamAV's header-line rules within the first 1024 bytes (target type 4 applies, no text rescan) and
    /// near misses (the same headers past byte 1024, a header name without its pair), against clamscan.
    /// </summary>
    [SkippableFact]
    public void Typing_MailHeaderLinesInFirstBytes_Target4AsClamscan()
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(dbDir, "m.ndb"), $"Mail4:4:*:{Hex("QQMailMark")}\nAny0:0:*:{Hex("QQMailMark")}\nNorm7:7:*:{Hex("qqmailmark")}\n");
        string headers = "From: someone@example.com\nX-Mark: QQMailMark\nContent-Type: text/plain\n\nbody\n";
        string filler = string.Concat(Enumerable.Repeat("lorem ipsum dolor ", 70));
        var contents = new Dictionary<string, string>
        {
            ["from-content-type"] = "Return-Xyz: 1\n" + headers,
            ["received-content-type"] = "X: 1\nReceived: by x\nX-Mark: QQMailMark\nContent-Type: text/plain\n\n",
            ["message-id"] = "X: 1\nMessage-Id: <a@b>\nX-Mark: QQMailMark\ncontent-Type: text/plain\n\n",
            ["delivered-received"] = "xx Delivered-To: a\nReceived: b\nX-Mark: QQMailMark\n",
            ["late"] = filler + "\n" + headers,
            ["unpaired"] = "X: 1\nFrom: someone\nX-Mark: QQMailMark\n\nbody\n",
        };
        var files = new List<string>();
        foreach ((string name, string text) in contents)
        {
            string path = _dir.File(name + ".eml");
            File.WriteAllText(path, text);
            files.Add(path);
        }

        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([dbDir], files);
        string[] mail = ["from-content-type", "received-content-type", "message-id", "delivered-received"];
        foreach (string file in files)
        {
            bool isMail = mail.Contains(Path.GetFileNameWithoutExtension(file));
            Assert.True(isMail == expected[file].Contains("Mail4"), $"{Path.GetFileName(file)}: clamscan [{string.Join(", ", expected[file])}]");
        }

        SignatureDatabase db = SignatureDatabase.Load(dbDir);
        foreach (string file in files)
        {
            byte[] data = File.ReadAllBytes(file);
            AssertSame(expected[file], db.Scan(data), Path.GetFileName(file));
        }
    }

    /// <summary>
    /// Byte compares on normalised text, as clamscan evaluates them: a Target:0 one reads the normalised bytes at the
    /// normalised offset, a Target:7 one never counts.
    /// </summary>
    [SkippableFact]
    public void Rescan_ByteCompare_ReadsNormalisedTextForTarget0Only()
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(dbDir, "b.ldb"), string.Concat(
            "BC7;Target:7;0&1;68656c6c6f;0(>>12#de4#=1234)\n",
            "BC0;Target:0;0&1;68656c6c6f;0(>>12#de4#=1234)\n",
            "BC0raw;Target:0;0&1;68656c6c6f;0(>>14#de4#=1234)\n",
            "BC7raw;Target:7;0&1;68656c6c6f;0(>>14#de4#=1234)\n"));
        string file = _dir.File("bc.txt");
        File.WriteAllText(file, "HELLO   World 1234 zz\n");
        SortedSet<string> expected = ClamscanOracle.Scan([dbDir], [file])[file];
        Assert.Equal(["BC0"], expected);
        AssertSame(expected, SignatureDatabase.Load(dbDir).Scan(File.ReadAllBytes(file)), "byte compares");
    }

    /// <summary>
    /// The normalisation byte by byte, against clamscan: control and high bytes inside a white-space run do not split
    /// it, 0x7F is kept, CR/LF, tab, vertical tab and form feed are white space, an ISO-8859 byte between two words
    /// joins them (the file is typed UTF-16BE by clamscan).
    /// </summary>
    [SkippableFact]
    public void Normalise_ControlHighAndWhiteSpaceBytes_AsClamscan()
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(dbDir, "w.ndb"), string.Concat(
            $"Exact7:7:*:{Hex("aa bb\u007fcc ddee ff ")}\n",
            $"TwoSpaces7:7:*:{Hex("aa  b")}\n",
            $"NoDel7:7:*:{Hex("bbcc")}\n",
            $"Split7:7:*:{Hex("dd ee")}\n"));
        string file = _dir.File("w.txt");
        byte[] data = [.. Encoding.Latin1.GetBytes("AA \u0001\u0080 BB\u007fCC\r\n\tDD\u00e9EE  \u000b\u000cFF\n")];
        File.WriteAllBytes(file, data);
        SortedSet<string> expected = ClamscanOracle.Scan([dbDir], [file])[file];
        Assert.Equal(["Exact7"], expected);
        AssertSame(expected, SignatureDatabase.Load(dbDir).Scan(data), "normalised bytes");
    }

    private static string Hex(string s) => Convert.ToHexStringLower(Encoding.Latin1.GetBytes(s));

    private static void AssertSame(SortedSet<string> expected, IReadOnlyList<Detection> actual, string how)
    {
        var names = new SortedSet<string>(actual.Select(d => d.SignatureName), StringComparer.Ordinal);
        Assert.True(expected.SetEquals(names), $"{how}: clamscan [{string.Join(", ", expected)}] vs Prism [{string.Join(", ", names)}]");
    }
}
