using System.Net.Sockets;

namespace Prism.Nbd;

/// <summary>
/// Serves exports over NBD on one or more endpoints, each client on its own task. <see cref="StopAsync"/> stops
/// accepting, lets every request that has arrived finish and be answered, then flushes and closes the exports.
/// </summary>
public sealed class NbdServer : IAsyncDisposable
{
    private readonly Dictionary<string, NbdExport> _exports;
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _connections = [];
    private readonly Lock _connectionsLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<string> _log;
    private readonly List<Task> _acceptLoops = [];
    private bool _stopped;

    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2? _tlsCertificate;

    /// <summary>A server for <paramref name="exports"/> (names must be unique); <paramref name="log"/> hears about each client.
    /// With <paramref name="tlsCertificate"/> (and its private key), clients must upgrade with NBD_OPT_STARTTLS first.</summary>
    public NbdServer(IEnumerable<NbdExport> exports, Action<string>? log = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2? tlsCertificate = null)
    {
        _tlsCertificate = tlsCertificate;
        ArgumentNullException.ThrowIfNull(exports);
        _exports = new Dictionary<string, NbdExport>(StringComparer.Ordinal);
        foreach (NbdExport e in exports)
        {
            if (!_exports.TryAdd(e.Name, e))
            {
                throw new ArgumentException($"two exports are named '{e.Name}' (give --name)");
            }
        }

        _log = log ?? (_ => { });
    }

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionCount { get; private set; }

    /// <summary>Starts listening on <paramref name="endpoint"/>; a unix socket path that exists is refused, never replaced.</summary>
    public void Listen(NbdEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Socket socket;
        if (endpoint.IsUnix)
        {
            string path = ((UnixDomainSocketEndPoint)endpoint.EndPoint).ToString();
            if (Path.Exists(path))
            {
                // Never deleted: it may be another server's socket, or not a socket at all.
                throw new IOException($"{path} already exists (another server, or a file): remove it or choose another --listen");
            }

            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        }
        else
        {
            socket = new Socket(endpoint.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        }

        socket.Bind(endpoint.EndPoint);
        socket.Listen(64);
        _listeners.Add(socket);
        _acceptLoops.Add(AcceptLoopAsync(socket));
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (client.ProtocolType == ProtocolType.Tcp)
            {
                client.NoDelay = true;
            }

            int id;
            lock (_connectionsLock)
            {
                id = ++ConnectionCount;
                _connections.Add(ServeAsync(client, id));
            }
        }
    }

    private async Task ServeAsync(Socket client, int id)
    {
        await Task.Yield();
        using var stream = new NetworkStream(client, ownsSocket: true);
        try
        {
            await new NbdConnection(stream, _exports, m => _log($"client {id}: {m}"), _tlsCertificate).RunAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            _log($"client {id}: TLS handshake failed: {e.Message}");
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or SocketException or ObjectDisposedException)
        {
            // A client that disconnects mid-request ends only its own connection.
            _log($"client {id}: disconnected ({e.GetType().Name}: {e.Message})");
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopping while the client was still negotiating: nothing of its was in flight.
        }
    }

    /// <summary>Stops accepting, waits for the requests in flight, flushes and closes every export.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (Socket l in _listeners)
        {
            string? unixPath = l.LocalEndPoint is UnixDomainSocketEndPoint u ? u.ToString() : null;
            l.Dispose();
            if (unixPath is not null)
            {
                File.Delete(unixPath);
            }
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        Task[] running;
        lock (_connectionsLock)
        {
            running = [.. _connections];
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        foreach (NbdExport e in _exports.Values)
        {
            e.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
