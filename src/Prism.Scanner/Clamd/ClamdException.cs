namespace Prism.Scanner.Clamd;

/// <summary>clamd could not be reached, broke the protocol, or answered with an error.</summary>
public class ClamdException : IOException
{
    internal ClamdException(string message, string? reply, Exception? inner = null)
        : base(message, inner) => Reply = reply;

    /// <summary>clamd's reply (without the trailing NUL) when it gave one.</summary>
    public string? Reply { get; }
}

/// <summary>
/// The stream was longer than clamd's StreamMaxLength (clamd answers "INSTREAM size limit exceeded. ERROR" and
/// closes the connection) or than the client's configured limit. The data was not (fully) scanned.
/// </summary>
public sealed class ClamdSizeLimitExceededException : ClamdException
{
    internal ClamdSizeLimitExceededException(string message, string? reply, Exception? inner = null)
        : base(message, reply, inner)
    {
    }
}
