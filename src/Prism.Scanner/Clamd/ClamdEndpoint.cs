using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Prism.Scanner.Clamd;

/// <summary>Where clamd listens: a Unix socket path (LocalSocket) or a TCP host and port (TCPSocket/TCPAddr).</summary>
public sealed record ClamdEndpoint
{
    private ClamdEndpoint(string? socketPath, string? host, int port)
    {
        SocketPath = socketPath;
        Host = host;
        Port = port;
    }

    /// <summary>The Unix socket path, or null for TCP.</summary>
    public string? SocketPath { get; }

    /// <summary>The TCP host, or null for a Unix socket.</summary>
    public string? Host { get; }

    /// <summary>The TCP port (0 for a Unix socket).</summary>
    public int Port { get; }

    /// <summary>A Unix domain socket endpoint.</summary>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    public static ClamdEndpoint Unix(string socketPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        return new ClamdEndpoint(socketPath, null, 0);
    }

    /// <summary>A TCP endpoint.</summary>
    /// <exception cref="ArgumentException">The host is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The port is outside 1-65535.</exception>
    public static ClamdEndpoint Tcp(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new ClamdEndpoint(null, host, port);
    }

    /// <summary>Parses "/path/to/clamd.sock", "unix:/path", "HOST:PORT" or "tcp://HOST:PORT" ("[::1]:3310" for IPv6).</summary>
    /// <exception cref="FormatException">The text is neither form.</exception>
    public static ClamdEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            text = text[5..];
            return text.Length > 0 ? Unix(text) : throw new FormatException("empty Unix socket path");
        }

        if (text.StartsWith('/') || text.StartsWith('.'))
        {
            return Unix(text);
        }

        if (text.StartsWith("tcp://", StringComparison.Ordinal))
        {
            text = text[6..];
        }

        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port is < 1 or > 65535)
        {
            throw new FormatException($"'{text}' is neither a socket path nor HOST:PORT");
        }

        string host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return Tcp(host, port);
    }

    /// <inheritdoc />
    public override string ToString() => SocketPath ?? $"{Host}:{Port}";

    /// <summary>Opens a connected socket; throws <see cref="ClamdException"/> when clamd cannot be reached.</summary>
    internal async Task<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        Socket socket = SocketPath is not null
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            EndPoint target = SocketPath is not null ? new UnixDomainSocketEndPoint(SocketPath) : new DnsEndPoint(Host!, Port);
            await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ClamdException($"cannot connect to clamd at {this}: {e.Message}", null, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
