using System.Diagnostics;
using Spectre.Console;

namespace Prism.Cli;

/// <summary>
/// A live progress display for long operations (bytes, rate, ETA) when stderr is a terminal; nothing at all when it is
/// redirected (scripts, logs, tests), where only the final lines are printed.
/// </summary>
internal sealed class TerminalProgress
{
    private readonly ProgressContext? _context;
    private ProgressTask? _task;
    private readonly Stopwatch _clock = new();
    private string _title = "";

    private TerminalProgress(ProgressContext? context) => _context = context;

    /// <summary>True when <paramref name="stderr"/> is the process's stderr and that is a terminal.</summary>
    public static bool IsTerminal(TextWriter stderr) => ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    /// <summary>Runs <paramref name="work"/> with a progress display on stderr, or none (quiet, or not a terminal).</summary>
    public static async Task<T> RunAsync<T>(TextWriter stderr, bool quiet, Func<TerminalProgress, Task<T>> work)
    {
        if (quiet || !IsTerminal(stderr))
        {
            return await work(new TerminalProgress(null)).ConfigureAwait(false);
        }

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = AnsiSupport.Detect,
            Interactive = InteractionSupport.Yes,
        });
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx => result = await work(new TerminalProgress(ctx)).ConfigureAwait(false)).ConfigureAwait(false);
        return result;
    }

    /// <summary>Runs synchronous <paramref name="work"/> (see <see cref="RunAsync{T}"/>).</summary>
    public static T Run<T>(TextWriter stderr, bool quiet, Func<TerminalProgress, T> work) =>
        RunAsync(stderr, quiet, p => Task.FromResult(work(p))).GetAwaiter().GetResult();

    /// <summary>Starts a bar of <paramref name="total"/> units (disks, blocks, bytes).</summary>
    public void Start(string title, double total)
    {
        if (_context is null)
        {
            return;
        }

        _task?.StopTask();
        _title = Markup.Escape(title);
        _task = _context.AddTask(_title, maxValue: Math.Max(1, total));
        _clock.Restart();
    }

    /// <summary>Moves the bar to <paramref name="done"/> units, <paramref name="bytes"/> processed so far (shown with the rate).</summary>
    public void Report(double done, long bytes, string? stage = null)
    {
        if (_task is null)
        {
            return;
        }

        double seconds = Math.Max(0.001, _clock.Elapsed.TotalSeconds);
        string rate = Sizes.Format((long)(bytes / seconds)) + "/s";
        _task.Description = $"{_title} {Markup.Escape(stage ?? "")} [grey]{Markup.Escape(Sizes.Format(bytes))}, {Markup.Escape(rate)}[/]";
        _task.Value = done;
    }

    /// <summary>Ends the current bar.</summary>
    public void Stop()
    {
        if (_task is not null)
        {
            _task.Value = _task.MaxValue;
            _task.StopTask();
            _task = null;
        }
    }
}
