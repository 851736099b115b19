using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Prism.Scanner.Clamd;

/// <summary>
/// Talks to clamd (clamd(8) "COMMANDS"): one connection per command, NUL-terminated ("z"-prefixed) commands and
/// replies. INSTREAM sends the data as chunks of a 4-byte big-endian length plus bytes, ended by a zero length.
/// Thread-safe; every call opens its own connection.
/// </summary>
public sealed class ClamdClient
{
    private const string StreamPrefix = "stream: ";
    private const string FoundSuffix = " FOUND";
    private const string ErrorSuffix = " ERROR";
    private const int MaxReplyLength = 64 * 1024;

    private readonly ClamdEndpoint _endpoint;
    private readonly ClamdClientOptions _options;

    /// <summary>Creates a client for <paramref name="endpoint"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The chunk size is not positive.</exception>
    public ClamdClient(ClamdEndpoint endpoint, ClamdClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _endpoint = endpoint;
        _options = options ?? new ClamdClientOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ChunkSize, 1, nameof(options));
    }

    /// <summary>Sends PING; true when clamd answers PONG.</summary>
    /// <exception cref="ClamdException">clamd cannot be reached or answered something else.</exception>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        string reply = await CommandAsync("zPING\0"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        return reply == "PONG" ? true : throw new ClamdException($"clamd answered PING with '{reply}'", reply);
    }

    /// <summary>Sends VERSION; returns e.g. "ClamAV 1.4.6/27000/Mon Nov 24 09:00:00 2026".</summary>
    /// <exception cref="ClamdException">clamd cannot be reached or closed without a reply.</exception>
    public Task<string> GetVersionAsync(CancellationToken cancellationToken = default) =>
        CommandAsync("zVERSION\0"u8.ToArray(), cancellationToken);

    /// <summary>Scans the bytes of <paramref name="data"/> from its current position to its end with INSTREAM.</summary>
    /// <exception cref="ClamdSizeLimitExceededException">The stream exceeds StreamMaxLength (clamd's or the configured one).</exception>
    /// <exception cref="ClamdException">clamd cannot be reached, reported an error, or broke the protocol.</exception>
    public async Task<ClamdScanResult> ScanStreamAsync(Stream data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        using Socket socket = await _endpoint.ConnectAsync(cancellationToken).ConfigureAwait(false);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(_options.ChunkSize + 4);
        try
        {
            Exception? sendFailure = null;
            try
            {
                await SendAsync(socket, "zINSTREAM\0"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                long sent = 0;
                while (true)
                {
                    int read = await data.ReadAsync(buffer.AsMemory(4, _options.ChunkSize), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    sent += read;
                    if (sent > _options.StreamMaxLength)
                    {
                        throw new ClamdSizeLimitExceededException(
                            $"stream longer than StreamMaxLength {_options.StreamMaxLength} bytes; not sent to clamd at {_endpoint}", null);
                    }

                    BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)read);
                    await SendAsync(socket, buffer.AsMemory(0, read + 4), cancellationToken).ConfigureAwait(false);
                }

                BinaryPrimitives.WriteUInt32BigEndian(buffer, 0);
                await SendAsync(socket, buffer.AsMemory(0, 4), cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                // clamd closes the connection when StreamMaxLength is exceeded, after writing its reply: read it.
                sendFailure = e;
            }

            string reply = await ReceiveReplyAsync(socket, sendFailure, cancellationToken).ConfigureAwait(false);
            return ParseScanReply(reply, sendFailure);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Scans <paramref name="data"/> with INSTREAM.</summary>
    /// <exception cref="ClamdSizeLimitExceededException">The data exceeds StreamMaxLength (clamd's or the configured one).</exception>
    /// <exception cref="ClamdException">clamd cannot be reached, reported an error, or broke the protocol.</exception>
    public async Task<ClamdScanResult> ScanAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream(data.ToArray(), writable: false);
        return await ScanStreamAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    private ClamdScanResult ParseScanReply(string reply, Exception? sendFailure)
    {
        if (reply.EndsWith(ErrorSuffix, StringComparison.Ordinal))
        {
            string message = $"clamd at {_endpoint}: {reply}";
            throw reply.Contains("size limit exceeded", StringComparison.OrdinalIgnoreCase)
                ? new ClamdSizeLimitExceededException(message, reply, sendFailure)
                : new ClamdException(message, reply, sendFailure);
        }

        if (sendFailure is not null)
        {
            throw new ClamdException($"clamd at {_endpoint} closed the connection during INSTREAM (reply '{reply}')", reply, sendFailure);
        }

        if (reply == StreamPrefix + "OK")
        {
            return new ClamdScanResult(null, reply);
        }

        if (reply.StartsWith(StreamPrefix, StringComparison.Ordinal) && reply.EndsWith(FoundSuffix, StringComparison.Ordinal)
            && reply.Length > StreamPrefix.Length + FoundSuffix.Length)
        {
            return new ClamdScanResult(reply[StreamPrefix.Length..^FoundSuffix.Length], reply);
        }

        throw new ClamdException($"clamd at {_endpoint} sent an unexpected INSTREAM reply '{reply}'", reply);
    }

    private async Task<string> CommandAsync(byte[] command, CancellationToken cancellationToken)
    {
        using Socket socket = await _endpoint.ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SendAsync(socket, command, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new ClamdException($"clamd at {_endpoint}: sending {Encoding.ASCII.GetString(command, 1, command.Length - 2)} failed: {e.Message}", null, e);
        }

        return await ReceiveReplyAsync(socket, null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task SendAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>Reads up to the terminating NUL (or the peer's close); throws <see cref="ClamdException"/> on an empty reply.</summary>
    private async Task<string> ReceiveReplyAsync(Socket socket, Exception? earlierFailure, CancellationToken cancellationToken)
    {
        var reply = new MemoryStream();
        byte[] buffer = new byte[4096];
        while (reply.Length < MaxReplyLength)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                if (reply.Length > 0)
                {
                    break;
                }

                throw new ClamdException($"clamd at {_endpoint}: connection lost before a reply: {e.Message}", null, earlierFailure ?? e);
            }

            if (n == 0)
            {
                break;
            }

            int nul = Array.IndexOf(buffer, (byte)0, 0, n);
            reply.Write(buffer, 0, nul >= 0 ? nul : n);
            if (nul >= 0)
            {
                break;
            }
        }

        if (reply.Length == 0)
        {
            throw new ClamdException($"clamd at {_endpoint} closed the connection without a reply", null, earlierFailure);
        }

        return Encoding.UTF8.GetString(reply.GetBuffer(), 0, (int)reply.Length).TrimEnd('\n');
    }
}
