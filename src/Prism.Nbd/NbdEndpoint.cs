using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Prism.Nbd;

/// <summary>Where a server listens: <c>unix:PATH</c> or <c>tcp:HOST:PORT</c> (loopback unless a host is named).</summary>
public sealed record NbdEndpoint
{
    private NbdEndpoint(EndPoint endPoint, string text)
    {
        EndPoint = endPoint;
        Text = text;
    }

    /// <summary>The socket address.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>The endpoint as given (for messages and URIs).</summary>
    public string Text { get; }

    /// <summary>True for a unix-domain socket.</summary>
    public bool IsUnix => EndPoint is UnixDomainSocketEndPoint;

    /// <summary>Parses <c>unix:PATH</c>, <c>tcp:HOST:PORT</c>, <c>tcp:PORT</c> (loopback) or a bare path.</summary>
    /// <exception cref="ArgumentException">Not an endpoint.</exception>
    public static NbdEndpoint Parse(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        if (text.StartsWith("tcp:", StringComparison.Ordinal))
        {
            string rest = text[4..];
            int colon = rest.LastIndexOf(':');
            string host = colon < 0 ? "127.0.0.1" : rest[..colon].Trim('[', ']');
            string portText = colon < 0 ? rest : rest[(colon + 1)..];
            if (!ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out ushort port))
            {
                throw new ArgumentException($"--listen {text}: '{portText}' is not a TCP port");
            }

            IPAddress address = host is "" or "localhost" ? IPAddress.Loopback
                : IPAddress.TryParse(host, out IPAddress? a) ? a
                : throw new ArgumentException($"--listen {text}: '{host}' is not an IP address");
            return new NbdEndpoint(new IPEndPoint(address, port), text);
        }

        string path = text.StartsWith("unix:", StringComparison.Ordinal) ? text[5..] : text;
        if (path.Length == 0)
        {
            throw new ArgumentException($"--listen {text}: no socket path");
        }

        return new NbdEndpoint(new UnixDomainSocketEndPoint(Path.GetFullPath(path)), "unix:" + Path.GetFullPath(path));
    }
}
