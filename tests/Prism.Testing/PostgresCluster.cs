using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;
using Xunit;

namespace Prism.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster for tests: <c>initdb</c> and <c>pg_ctl</c> from Debian's <c>postgresql</c> package
/// (/usr/lib/postgresql/*/bin), run as a non-root user (tests run as root in CI: the server refuses root, so it runs as
/// <c>nobody</c> through <c>runuser</c>, in a temporary directory that user owns), listening on 127.0.0.1 on a free port
/// with password (SCRAM) authentication, its socket in the same directory. One cluster serves a whole test collection
/// (an xunit collection fixture in the test assembly); every test takes a fresh database (<see cref="NewDatabase"/>). Stopped and deleted on
/// dispose. Tests call <see cref="Require"/> first: a missing PostgreSQL skips them, or fails them under
/// PRISM_REQUIRE_ORACLES=1; a PostgreSQL that is installed but does not start always fails them.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    /// <summary>The superuser the tests connect as.</summary>
    public const string User = "prism";

    private readonly string? _bin;
    private readonly string? _notInstalled;
    private readonly Exception? _startError;
    private readonly bool _durable;
    private int _databases;

    /// <summary>Starts a cluster for tests (no fsync: a crash of the test machine loses nothing of value; a crash of the server loses no commit).</summary>
    public PostgresCluster()
        : this(durable: false)
    {
    }

    /// <summary>A cluster with PostgreSQL's default durability (fsync on), for benchmarks against SQLite.</summary>
    public static PostgresCluster Durable() => new(durable: true);

    private PostgresCluster(bool durable)
    {
        _durable = durable;
        Password = "pw-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
        _bin = FindBin();
        if (_bin is null)
        {
            _notInstalled = "PostgreSQL server not installed (/usr/lib/postgresql/*/bin/initdb; Debian package postgresql; scripts/bootstrap.sh installs it)";
            return;
        }

        try
        {
            Dir = Directory.CreateTempSubdirectory("prism-pg-").FullName;
            AsServerUser("chown", ["-R", "nobody:nogroup", Dir], asRoot: true);
            string pwfile = Path.Combine(Dir, "pw");
            File.WriteAllText(pwfile, Password + "\n");
            AsServerUser("chown", ["nobody:nogroup", pwfile], asRoot: true);
            AsServerUser(Path.Combine(_bin, "initdb"),
                ["-D", DataDir, "-U", User, "--pwfile=" + pwfile, "--auth-host=scram-sha-256", "--auth-local=trust", "--no-locale", "-E", "UTF8", "--no-sync"]);
            File.Delete(pwfile);
            Start();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or NpgsqlException)
        {
            _startError = e;
        }
    }

    /// <summary>The cluster's directory (data, socket, log).</summary>
    public string Dir { get; } = "";

    private string DataDir => Path.Combine(Dir, "data");

    /// <summary>The port it listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>The superuser's password (random per cluster).</summary>
    public string Password { get; }

    /// <summary>Skips the test when PostgreSQL is not installed (fails it under PRISM_REQUIRE_ORACLES=1); fails it when the cluster did not start.</summary>
    public void Require()
    {
        if (_startError is not null)
        {
            throw new InvalidOperationException($"the test PostgreSQL cluster did not start: {_startError.Message}\n{Log()}", _startError);
        }

        if (_notInstalled is not null)
        {
            if (Oracle.Required)
            {
                throw new InvalidOperationException(_notInstalled + " and PRISM_REQUIRE_ORACLES=1");
            }

            Skip.If(true, _notInstalled);
        }
    }

    /// <summary>A key/value connection string for <paramref name="database"/> (with the password).</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username={User};Password={Password};Database={database};Timeout=15;Command Timeout=60";

    /// <summary>The same as a <c>postgresql://</c> URI.</summary>
    public string Uri(string database) => $"postgresql://{User}:{Password}@127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{database}";

    /// <summary>Creates a fresh empty database and returns its name.</summary>
    public string NewDatabase()
    {
        Require();
        string name = $"t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        using var c = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        c.Open();
        using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0", c);
        cmd.ExecuteNonQuery();
        return name;
    }

    /// <summary>Starts (or restarts) the server on a free port (the same one after a <see cref="Stop"/>).</summary>
    public void Start()
    {
        if (Port == 0)
        {
            Port = FreePort();
        }

        string options = $"-c listen_addresses=127.0.0.1 -p {Port.ToString(CultureInfo.InvariantCulture)} -k {Dir} -c max_connections=300"
            + (_durable ? "" : " -c fsync=off -c full_page_writes=off");
        AsServerUser(Path.Combine(_bin!, "pg_ctl"), ["-D", DataDir, "-l", Path.Combine(Dir, "log"), "-w", "-t", "120", "-o", options, "start"]);
    }

    /// <summary>Stops the server at once (as a crash or an administrator's 'immediate' stop would).</summary>
    public void Stop()
    {
        NpgsqlConnection.ClearAllPools();
        if (_bin is not null && Dir.Length > 0 && File.Exists(Path.Combine(DataDir, "postmaster.pid")))
        {
            AsServerUser(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-m", "immediate", "-w", "stop"], check: false);
        }
    }

    /// <summary>The server log (for a failure message).</summary>
    public string Log()
    {
        string log = Path.Combine(Dir, "log");
        return Dir.Length > 0 && File.Exists(log) ? File.ReadAllText(log) : "";
    }

    /// <inheritdoc />
    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            Stop();
        }
        finally
        {
            if (Dir.Length > 0)
            {
                try
                {
                    Directory.Delete(Dir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static string? FindBin()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.GetDirectories(root)
            .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : 0))
            .OrderByDescending(x => x.Version)
            .Select(x => Path.Combine(x.Dir, "bin"))
            .FirstOrDefault(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")));
    }

    /// <summary>Runs a server tool as <c>nobody</c> when this process is root (the server refuses root), else as is.</summary>
    private static void AsServerUser(string tool, IReadOnlyList<string> args, bool asRoot = false, bool check = true)
    {
        bool root = !OperatingSystem.IsWindows() && Environment.UserName == "root";
        if (asRoot && !root)
        {
            return; // chown to nobody is only needed (and only allowed) as root
        }

        ProcessResult r = root && !asRoot
            ? Oracle.Run("runuser", ["-u", "nobody", "--", tool, .. args], check: false, workingDirectory: "/tmp")
            : Oracle.Run(tool, args, check: false, workingDirectory: "/tmp");
        if (check && r.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(tool)} exited with {r.ExitCode}: {r.StdErr} {r.StdOut}");
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
