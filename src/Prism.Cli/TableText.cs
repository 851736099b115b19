using Spectre.Console;
using Spectre.Console.Rendering;

namespace Prism.Cli;

/// <summary>Renders a Spectre table as aligned plain text into any writer (no colours, no terminal needed).</summary>
internal static class TableText
{
    public static void Write(IRenderable table, TextWriter writer)
    {
        var sw = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(sw),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        console.Write(table);
        foreach (string line in sw.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'))
        {
            writer.WriteLine(line.TrimEnd());
        }
    }
}
