using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Prism.Testing;

namespace Prism.Cli.Tests.Golden;

/// <summary>
/// The JSON shapes (names, order, kinds) of <c>disk info|check|map --json</c>, <c>scan --json</c> (one parent and
/// groups), <c>sigs info --json</c>, <c>golden list</c>, <c>clone list</c> and <c>catalog verify --json</c> equal the
/// golden files, which were made from the CLI before it moved to System.CommandLine (see make-shapes.py, same scenario).
/// </summary>
public sealed class JsonShapeTests : IDisposable
{
    private static readonly byte[] s_marker = Encoding.ASCII.GetBytes("PRISM-CLI-GOLDEN-SHAPE-MARKER-5d1e");
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EveryDocumentedJsonOutput_HasTheShapeOfItsGoldenFile()
    {
        string cat = _dir.File("catalog.db");
        byte[] m = new byte[4034];
        s_marker.CopyTo(m, 1000);
        File.WriteAllBytes(_dir.File("m.bin"), m);
        File.WriteAllText(_dir.File("sig.ndb"), $"Prism.Shape.Marker:0:*:{Convert.ToHexStringLower(s_marker)}\n");
        string fleet = _dir.File("fleet");
        Directory.CreateDirectory(fleet);
        foreach (string b in new[] { "a", "b" })
        {
            Prism(0, "disk", "create", $"{fleet}/{b}.vhdx", "--size", "16MiB", "--block-size", "1MiB", "--catalog", cat);
            Prism(0, "disk", "clone", $"{fleet}/{b}.vhdx", $"{fleet}/{b}-child.vhdx", "--catalog", cat);
            Prism(0, "disk", "write", $"{fleet}/{b}-child.vhdx", "--offset", "1048576", "--input", _dir.File("m.bin"), "--catalog", cat);
        }

        var shapes = new Dictionary<string, JsonNode?>
        {
            ["disk-info"] = JsonNode.Parse(Prism(0, "disk", "info", $"{fleet}/a-child.vhdx", "--json")),
            ["disk-check"] = JsonNode.Parse(Prism(0, "disk", "check", $"{fleet}/a-child.vhdx", "--json")),
            ["disk-map"] = JsonNode.Parse(Prism(0, "disk", "map", $"{fleet}/a-child.vhdx", "--json")),
        };
        Prism(1, "scan", $"{fleet}/a.vhdx", $"{fleet}/a-child.vhdx", "--signatures", _dir.File("sig.ndb"), "--json", _dir.File("one.json"), "--quiet");
        shapes["scan"] = JsonNode.Parse(File.ReadAllText(_dir.File("one.json")));
        Prism(1, "scan", "--dir", fleet, "--signatures", _dir.File("sig.ndb"), "--json", _dir.File("groups.json"), "--quiet");
        shapes["scan-groups"] = JsonNode.Parse(File.ReadAllText(_dir.File("groups.json")));
        shapes["sigs-info"] = JsonNode.Parse(Prism(0, "sigs", "info", _dir.File("sig.ndb"), "--json", "--issues"));
        Prism(0, "disk", "create", _dir.File("g.vhdx"), "--size", "16MiB", "--block-size", "1MiB", "--catalog", cat);
        Prism(0, "golden", "add", _dir.File("g.vhdx"), "--name", "g", "--catalog", cat);
        Prism(0, "clone", "new", "g", "c1", "--catalog", cat);
        shapes["golden-list"] = JsonNode.Parse(Prism(0, "golden", "list", "--json", "--catalog", cat));
        shapes["clone-list"] = JsonNode.Parse(Prism(0, "clone", "list", "--json", "--catalog", cat));
        File.Delete(_dir.File("c1.vhdx"));
        shapes["catalog-verify"] = JsonNode.Parse(Prism(1, "catalog", "verify", "--json", "--catalog", cat));

        foreach ((string name, JsonNode? node) in shapes)
        {
            string expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", name + ".json")).ReplaceLineEndings("\n").Trim();
            string actual = Shape(node).ToJsonString(new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n").Trim();
            Assert.True(expected == actual, $"{name}: shape changed\nexpected:\n{expected}\nactual:\n{actual}");
        }

        Assert.Equal(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden"), "*.json").Length, shapes.Count);
    }

    /// <summary>Names in order, kinds for values, the first element for arrays (as make-shapes.py).</summary>
    private static JsonNode Shape(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Shape(kv.Value)))),
        JsonArray a => a.Count == 0 ? new JsonArray() : new JsonArray(Shape(a[0])),
        null => JsonValue.Create("null"),
        JsonValue v => JsonValue.Create(v.GetValueKind() switch
        {
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => "number",
            JsonValueKind.Null => "null",
            _ => "string",
        }),
        _ => throw new InvalidOperationException(node.GetType().Name),
    };

    private static string Prism(int expectedExit, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr);
        Assert.True(code == expectedExit, $"prism {string.Join(' ', args)}: exit {code}, expected {expectedExit}: {stderr}");
        return stdout.ToString();
    }
}
