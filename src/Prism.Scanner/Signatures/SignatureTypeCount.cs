namespace Prism.Scanner.Signatures;

/// <summary>How many entries of one ClamAV database type (file extension, e.g. "ndb", "ldb", "fp") were read.</summary>
/// <param name="Type">The database type: the file or archive member extension without its dot.</param>
/// <param name="Loaded">Entries in use: signatures, allow-list or ignore-list entries.</param>
/// <param name="NotLoaded">Entries not used: unsupported types or features, functionality levels, metadata lines.</param>
/// <param name="Ignored">Signatures dropped because an .ign/.ign2 list names them.</param>
public sealed record SignatureTypeCount(string Type, int Loaded, int NotLoaded, int Ignored);
