namespace Prism.Scanner.Fleet;

/// <summary>Why a verdict store could not be used.</summary>
public enum VerdictStoreProblem
{
    /// <summary>The file is not a Prism verdict store (another file, another database); it was left untouched.</summary>
    NotAStore,

    /// <summary>Another process held the store's write lock longer than the wait allowed.</summary>
    Locked,

    /// <summary>The store (or its folder, for the WAL files) cannot be written.</summary>
    ReadOnly,

    /// <summary>The store cannot be opened or read (permissions, a directory in its place, an I/O error).</summary>
    Unreadable,

    /// <summary>A store of a newer format than this Prism knows; it was left untouched.</summary>
    UnknownVersion,
}

/// <summary>A verdict store that cannot be used; the message names the file. Nothing of the file was deleted.</summary>
public sealed class VerdictStoreException : IOException
{
    /// <summary>Creates the exception.</summary>
    public VerdictStoreException(string path, VerdictStoreProblem problem, string message, Exception? inner = null)
        : base(message, inner)
    {
        StorePath = path;
        Problem = problem;
    }

    /// <summary>The store file.</summary>
    public string StorePath { get; }

    /// <summary>What is wrong with it.</summary>
    public VerdictStoreProblem Problem { get; }
}
