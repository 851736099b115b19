using System.Diagnostics;
using System.Text;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Clamd;

/// <summary>
/// A real clamd for the test class: our generated custom database only (no freshclam, no official signatures), a Unix
/// socket in a temp directory, no TCP, StreamMaxLength 4 MiB. Killed (by process id) on dispose.
/// </summary>
public sealed class ClamdFixture : IDisposable
{
    public const long StreamMaxLength = 4 << 20;
    private readonly TempDir _dir = new();
    private readonly Process? _process;
    private readonly StringBuilder _log = new();

    public ClamdFixture()
        : this(null)
    {
    }

    /// <summary>A clamd over <paramref name="databaseDirectory"/> (the generated corpus's database when null).</summary>
    internal ClamdFixture(string? databaseDirectory)
    {
        Corpus = databaseDirectory is null ? GeneratedCorpus.Create(_dir, seed: 7, fileCount: 8, maxFileSize: 2_600_000) : null;
        DatabaseDirectory = databaseDirectory ?? Corpus!.DatabaseDirectory;
        SocketPath = _dir.File("clamd.sock");
        string? clamd = Oracle.Find("/usr/sbin/clamd");
        if (clamd is null)
        {
            return;
        }

        string conf = _dir.File("clamd.conf");
        File.WriteAllText(conf, string.Join('\n',
            $"LocalSocket {SocketPath}",
            $"DatabaseDirectory {DatabaseDirectory}",
            $"TemporaryDirectory {_dir.Path}",
            "Foreground yes",
            $"StreamMaxLength {StreamMaxLength / 1024}K",
            "MaxFileSize 100M",
            "MaxScanSize 400M",
            "Bytecode no",
            "SelfCheck 0",
            "LogVerbose no") + "\n");
        var psi = new ProcessStartInfo(clamd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(conf);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start clamd");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // clamd creates the socket once the database is loaded; poll for it (bounded), failing fast if clamd dies.
        var watch = Stopwatch.StartNew();
        while (!File.Exists(SocketPath))
        {
            if (_process.HasExited || watch.Elapsed > TimeSpan.FromSeconds(60))
            {
                StartupError = $"clamd did not open {SocketPath} (exited: {_process.HasExited}): {Log}";
                return;
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>The generated corpus (null when the fixture was given its own database directory).</summary>
    internal GeneratedCorpus? Corpus { get; }

    /// <summary>The directory clamd loads its signatures from.</summary>
    public string DatabaseDirectory { get; }

    public string SocketPath { get; }

    public string? StartupError { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Skips (or, under PRISM_REQUIRE_ORACLES=1, fails) when clamd is missing; fails when it did not start.</summary>
    public void Require()
    {
        Oracle.Require("/usr/sbin/clamd", "clamav-daemon");
        if (StartupError is not null)
        {
            throw new InvalidOperationException(StartupError);
        }
    }

    public void Dispose()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }

        _dir.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
