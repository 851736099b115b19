using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Prism.Scanner.Signatures;

namespace Prism.Cli;

/// <summary><c>prism sigs info PATH... [--json]</c>: what the built-in engine makes of ClamAV databases, like <c>sigtool --info</c>.</summary>
internal static class SigsCommand
{
    /// <summary><c>prism sigs info</c>.</summary>
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH") { Description = "ClamAV database files or folders (as for scan --signatures)", Arity = ArgumentArity.OneOrMore };
        var json = CliOptions.Flag("--json", "one JSON object: per type loaded / not loaded / ignored, totals, load time");
        var issues = CliOptions.Flag("--issues", "also list every line or file not loaded, with the reason");
        var info = new Command("info", "what the built-in engine loads from ClamAV databases: loaded / not loaded / ignored per type, like sigtool --info")
        {
            paths, json, issues,
        };
        info.SetAction(p => Info([.. p.GetValue(paths)!], p.GetValue(json), p.GetValue(issues), p.InvocationConfiguration.Output,
            p.InvocationConfiguration.Error));

        var dir = CliOptions.Arg("DIR", "a folder of ClamAV database files (as for scan --signatures DIR)");
        var compile = new Command("compile", "write the folder's compiled signature cache (DIR/.prism-sigs.cache, or the user cache folder), used by later loads while the files are unchanged")
        {
            dir,
        };
        compile.SetAction(p => Compile(p.GetValue(dir)!, p.InvocationConfiguration.Output));
        return CliOptions.Group("sigs", "ClamAV signature databases", info, compile);
    }

    private static int Compile(string dir, TextWriter stdout)
    {
        var clock = Stopwatch.StartNew();
        SignatureDatabase db = SignatureDatabase.Compile(dir, out string cachePath);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{cachePath}: {db.SignatureCount} signatures ({db.HashSignatureCount} hash, {db.BodySignatureCount} body, {db.LogicalSignatureCount} logical), {Sizes.Format(new FileInfo(cachePath).Length)}, compiled in {clock.Elapsed.TotalSeconds:F2} s"));
        return 0;
    }

    private static int Info(string[] positionals, bool json, bool issues, TextWriter stdout, TextWriter stderr)
    {
        var clock = Stopwatch.StartNew();
        SignatureDatabase db = SignatureDatabase.Load(positionals, stderr.WriteLine);
        double seconds = clock.Elapsed.TotalSeconds;
        if (json)
        {
            WriteJson(db, seconds, issues, stdout);
            return 0;
        }

        stdout.WriteLine($"{"type",-6} {"loaded",10} {"not loaded",10} {"ignored",8}");
        foreach (SignatureTypeCount c in db.TypeCounts)
        {
            stdout.WriteLine($"{c.Type,-6} {c.Loaded,10} {c.NotLoaded,10} {c.Ignored,8}");
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"signatures in use: {db.SignatureCount} ({db.HashSignatureCount} hash of which {db.SectionHashSignatureCount} PE section, {db.BodySignatureCount} body, {db.LogicalSignatureCount} logical); {db.Issues.Count} issue(s); loaded in {seconds:F2} s{(db.CachePath is null ? "" : " from " + db.CachePath)}"));
        if (issues)
        {
            foreach (SignatureIssue issue in db.Issues)
            {
                stdout.WriteLine(issue.ToString());
            }
        }

        return 0;
    }

    private static void WriteJson(SignatureDatabase db, double seconds, bool issues, TextWriter stdout)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("types");
            foreach (SignatureTypeCount c in db.TypeCounts)
            {
                w.WriteStartObject();
                w.WriteString("type", c.Type);
                w.WriteNumber("loaded", c.Loaded);
                w.WriteNumber("notLoaded", c.NotLoaded);
                w.WriteNumber("ignored", c.Ignored);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("hashSignatures", db.HashSignatureCount);
            w.WriteNumber("bodySignatures", db.BodySignatureCount);
            w.WriteNumber("sectionHashSignatures", db.SectionHashSignatureCount);
            w.WriteNumber("logicalSignatures", db.LogicalSignatureCount);
            w.WriteNumber("issueCount", db.Issues.Count);
            if (issues)
            {
                w.WriteStartArray("issues");
                foreach (SignatureIssue issue in db.Issues)
                {
                    w.WriteStartObject();
                    w.WriteString("source", issue.Source);
                    w.WriteNumber("line", issue.LineNumber);
                    w.WriteString("reason", issue.Reason);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteString("signatureSetHash", db.SignatureSetHash);
            w.WriteNumber("loadSeconds", Math.Round(seconds, 3));
            w.WriteString("cache", db.CachePath);
            w.WriteEndObject();
        }

        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
