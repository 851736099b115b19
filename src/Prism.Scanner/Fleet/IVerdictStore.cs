namespace Prism.Scanner.Fleet;

/// <summary>
/// Where scan results persist between runs, said in what the fleet scan needs (find and save a parent's baseline, find
/// and save a clone's last result, keep the parent's walk), never in SQL: one adapter per database (<see cref="VerdictStore"/>
/// for a SQLite file; a PostgreSQL adapter in Prism.Fleet). Documents are opaque text to an adapter: the scanner encodes
/// and decodes them (<see cref="VerdictCodec"/>). An adapter applies its versioned schema migrations when it opens and
/// refuses a database newer than the program (<see cref="VerdictStoreProblem.UnknownVersion"/>). A read or write that
/// fails during a scan is recorded in <see cref="Problems"/> and the scan goes on (a failed read reuses nothing, a
/// failed write keeps nothing). No message ever holds a password.
/// </summary>
public interface IVerdictStore : IDisposable
{
    /// <summary>What to call the store in messages: the file, or the server and database (never a password).</summary>
    string Display { get; }

    /// <summary>Reads or writes that failed during the scan, each naming the store.</summary>
    IReadOnlyList<string> Problems { get; }

    /// <summary>The baseline stored under <paramref name="parentKey"/> (disk id, DataWriteGuid, signature set), or null.</summary>
    StoredBaselineDocument? FindBaseline(string parentKey);

    /// <summary>Stores (or replaces) the baseline of <paramref name="parentKey"/>.</summary>
    void SaveBaseline(string parentKey, StoredBaselineDocument baseline);

    /// <summary>Forgets the baseline of <paramref name="parentKey"/> (one that could not be decoded).</summary>
    void DeleteBaseline(string parentKey);

    /// <summary>The report stored for the clone at <paramref name="path"/> when it was scanned as <paramref name="cloneKey"/>, or null.</summary>
    string? FindClone(string path, string cloneKey);

    /// <summary>Stores (or replaces) the result of the clone at <paramref name="path"/>.</summary>
    void SaveClone(string path, string cloneKey, bool clean, string report);

    /// <summary>Forgets the result of the clone at <paramref name="path"/>.</summary>
    void DeleteClone(string path);

    /// <summary>Keeps the parent's walk (an encoded blob) next to its baseline, under the same key.</summary>
    void SaveParentWalk(string parentKey, byte[] walk);

    /// <summary>The parent walk stored under <paramref name="parentKey"/>, or null.</summary>
    byte[]? LoadParentWalk(string parentKey);
}

/// <summary>A parent's stored baseline: its per-stream verdicts and its report, both encoded by <see cref="VerdictCodec"/>.</summary>
/// <param name="Verdicts">The encoded verdicts.</param>
/// <param name="Report">The encoded parent report.</param>
public sealed record StoredBaselineDocument(string Verdicts, string Report);
