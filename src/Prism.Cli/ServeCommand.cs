using System.CommandLine;
using System.Runtime.InteropServices;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Nbd;
using Prism.Provisioner.Catalog;

namespace Prism.Cli;

/// <summary>
/// <c>prism serve DISK... | --catalog [F] --clone NAME...</c>: serves VHDX disks (whole chains) over NBD, so QEMU,
/// qemu-img, nbdcopy or the kernel's nbd driver use a clone as their disk. A golden, a parent of a clone or a sealed VHDX
/// is only ever served read-only. Runs until SIGTERM or Ctrl-C, then answers what is in flight, flushes and exits 0.
/// </summary>
internal static class ServeCommand
{
    /// <summary>The standard NBD port.</summary>
    public const int DefaultPort = 10809;

    public static Command Create()
    {
        var disks = new Argument<string[]>("DISK") { Description = "VHDX files to serve (each as its own export)", Arity = ArgumentArity.ZeroOrMore };
        var listen = new Option<string[]>("--listen")
        {
            Description = $"unix:PATH or tcp:HOST:PORT (repeatable); default tcp:127.0.0.1:{DefaultPort}. TCP binds to loopback unless a host is named",
            HelpName = "ENDPOINT",
            Arity = ArgumentArity.OneOrMore,
        };
        var readOnly = CliOptions.Flag("--read-only", "serve every disk read-only");
        var name = CliOptions.Text("--name", "export name (one disk only; default: the file name without .vhdx)", "NAME");
        var catalog = new Option<string?>("--catalog")
        {
            Description = "the catalog: with --clone, serve its clones by name; always, its goldens and parents are served read-only",
            HelpName = "FILE",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var clones = new Option<string[]>("--clone") { Description = "clone names from the catalog", HelpName = "NAME", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        var tlsCert = CliOptions.Text("--tls-cert", "X.509 certificate (PEM): TLS becomes mandatory (NBD_OPT_STARTTLS)", "FILE");
        var tlsKey = CliOptions.Text("--tls-key", "its private key (PEM; default: the certificate file)", "FILE");
        var serve = new Command("serve", "serve VHDX disks over NBD (fixed newstyle; structured replies, base:allocation) until SIGTERM or Ctrl-C")
        {
            disks, listen, readOnly, name, catalog, clones, tlsCert, tlsKey,
        };
        serve.SetAction(p => Run(p.GetValue(disks) ?? [], p.GetValue(listen) ?? [], p.GetValue(readOnly), p.GetValue(name),
            p.GetResult(catalog) is null ? null : p.GetValue(catalog) ?? "", p.GetValue(clones) ?? [], LoadCertificate(p.GetValue(tlsCert), p.GetValue(tlsKey)),
            p.InvocationConfiguration.Output, p.InvocationConfiguration.Error));
        return serve;
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2? LoadCertificate(string? cert, string? key)
    {
        if (cert is null)
        {
            return key is null ? null : throw new UsageException("--tls-key needs --tls-cert");
        }

        try
        {
            return System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new IOException($"{cert}: not a PEM certificate with its private key ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    private static int Run(string[] diskArgs, string[] listen, bool readOnly, string? name, string? catalogOption, string[] cloneNames,
        System.Security.Cryptography.X509Certificates.X509Certificate2? tls, TextWriter stdout, TextWriter stderr)
    {
        string? catalogPath = catalogOption is { Length: > 0 } ? catalogOption : null;
        var paths = new List<string>(diskArgs.Select(Path.GetFullPath));
        if (cloneNames.Length > 0)
        {
            if (catalogOption is null)
            {
                throw new UsageException("--clone NAME needs --catalog [F]");
            }

            using PrismCatalog c = PrismCatalog.Open(PrismCatalog.ResolvePath(catalogPath));
            var byName = c.Clones().ToDictionary(r => r.Name, StringComparer.Ordinal);
            foreach (string n in cloneNames)
            {
                paths.Add(byName.TryGetValue(n, out CloneRecord? r) ? r.Path : throw new UsageException($"the catalog has no clone named '{n}'"));
            }
        }

        if (paths.Count == 0)
        {
            throw new UsageException("serve needs DISK... or --catalog [F] --clone NAME...");
        }

        if (name is not null && paths.Count != 1)
        {
            throw new UsageException("--name names the export of a single disk");
        }

        NbdEndpoint[] endpoints = listen.Length == 0 ? [NbdEndpoint.Parse($"tcp:127.0.0.1:{DefaultPort}")] : [.. listen.Select(ParseEndpoint)];

        // A disk the catalog protects (golden, parent of a clone, sealed VHDX), or that is the parent of another disk
        // served here, is only ever exported read-only.
        WriteTargetGuard guard = ProtectedDisks.Guard(catalogPath, includeClones: false);
        var parents = new HashSet<string>(StringComparer.Ordinal);
        foreach (string p in paths)
        {
            using VhdxDisk d = VhdxDisk.Open(p);
            foreach (VhdxDisk layer in d.Chain.Skip(1))
            {
                parents.Add(layer.Path);
            }
        }

        var exports = new List<NbdExport>();
        try
        {
            foreach (string p in paths)
            {
                string? reason = parents.Contains(p) ? "the parent of another served disk" : null;
                try
                {
                    guard.Check(p, "served disk");
                }
                catch (ProtectedPathException e)
                {
                    reason = e.Message;
                }

                NbdExport export = NbdExport.Open(p, name ?? Path.GetFileNameWithoutExtension(p), readOnly, reason);
                exports.Add(export);
                stdout.WriteLine($"export {export.Name}: {p}, {Sizes.Format(export.Size)}, {(export.ReadOnly ? "read-only" : "writable")}"
                    + (export.ReadOnlyReason is { } why ? $" ({Prism.Disks.Errors.TextEscaping.Escape(why)})" : ""));
            }

            return ServeUntilStopped(exports, endpoints, tls, stdout, stderr);
        }
        catch
        {
            foreach (NbdExport e in exports)
            {
                e.Dispose();
            }

            throw;
        }
    }

    private static NbdEndpoint ParseEndpoint(string text)
    {
        try
        {
            return NbdEndpoint.Parse(text);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static int ServeUntilStopped(List<NbdExport> exports, NbdEndpoint[] endpoints,
        System.Security.Cryptography.X509Certificates.X509Certificate2? tls, TextWriter stdout, TextWriter stderr)
    {
        var server = new NbdServer(exports, m => stderr.WriteLine($"prism serve: {m}"), tls);
        using var stop = new ManualResetEventSlim();
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Set();
        });
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.Set();
        });
        try
        {
            foreach (NbdEndpoint e in endpoints)
            {
                server.Listen(e);
                stdout.WriteLine($"listening on {e.Text}{(tls is null ? "" : " (TLS required)")}");
            }
        }
        catch
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        stdout.WriteLine("ready");
        stdout.Flush();
        stop.Wait();
        server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        stdout.WriteLine($"stopped after {server.ConnectionCount} connection(s); every export flushed and closed");
        return 0;
    }
}
