namespace Prism.Disks.IO;

/// <summary>Prism refused to write to a path because it is, or is the same file as, a disk other disks depend on.</summary>
public sealed class ProtectedPathException : IOException
{
    /// <summary>Creates the exception.</summary>
    public ProtectedPathException(string path, string protectedPath, string message)
        : base(message)
    {
        Path = path;
        ProtectedPath = protectedPath;
    }

    /// <summary>The path Prism was asked to write.</summary>
    public string Path { get; }

    /// <summary>The protected file it names (the golden or parent), or the path itself for a sealed VHDX.</summary>
    public string ProtectedPath { get; }
}
