namespace Prism.Provisioner.Catalog;

/// <summary>
/// Where the catalog lives, said in what the provisioner needs (find a golden, add clones atomically, journal an
/// operation, ...), never in SQL: one adapter per database (<see cref="SqliteCatalogStore"/>, <see cref="PostgresCatalogStore"/>).
/// An adapter applies its versioned schema migrations when it opens, and refuses a database newer than the program.
/// Every error it raises for a database it cannot reach or use is an <see cref="IOException"/> whose message never holds a
/// password; a name or path already taken is a <see cref="CatalogConflictException"/>.
/// </summary>
internal interface ICatalogStore : IDisposable
{
    /// <summary>What to call the catalog in messages: the file, or the server and database (never a password).</summary>
    string Display { get; }

    /// <summary>All golden images, by name.</summary>
    IReadOnlyList<GoldenImage> Goldens();

    /// <summary>All clones, by name.</summary>
    IReadOnlyList<CloneRecord> Clones();

    /// <summary>Every registered host, by name.</summary>
    IReadOnlyList<HostRecord> Hosts();

    /// <summary>Recorded scan runs, newest first.</summary>
    IReadOnlyList<ScanRun> ScanRuns();

    /// <summary>Records a fleet-scan run.</summary>
    void AddScanRun(ScanRun run);

    /// <summary>Every operation in the journal, oldest first.</summary>
    IReadOnlyList<JournalEntry> Operations();

    /// <summary>
    /// Runs <paramref name="work"/> in one write transaction: writers serialize (as SQLite's IMMEDIATE transaction), and
    /// nothing of it is kept unless it returns.
    /// </summary>
    T Write<T>(Func<ICatalogWriter, T> work);

    /// <summary>
    /// As <see cref="Write{T}"/> for a change that leaves the same state however often it runs (an upsert): a database
    /// on a server runs it again after a transient error, so <paramref name="work"/> may run more than once.
    /// <see cref="Write{T}"/> is never retried.
    /// </summary>
    T WriteIdempotent<T>(Func<ICatalogWriter, T> work);

    /// <summary>
    /// Takes the lease of a new operation <paramref name="id"/>: held until disposed, or until the process (or its database
    /// session) dies, whichever comes first. Throws when it cannot be taken.
    /// </summary>
    ICatalogLease TakeLease(string id);

    /// <summary>Takes the lease of operation <paramref name="id"/> if nobody holds it (its process is gone), else null.</summary>
    ICatalogLease? TryTakeLease(string id);

    /// <summary>Leftovers of leases whose operation has no journal row any more (lock files); a no-op where leases leave none.</summary>
    void RemoveStaleLeases();
}

/// <summary>An operation's lease (<see cref="ICatalogStore.TakeLease"/>); disposing it releases it.</summary>
internal interface ICatalogLease : IDisposable
{
    /// <summary>The operation's journal id.</summary>
    string Id { get; }

    /// <summary>
    /// As <see cref="ICatalogStore.Write{T}"/>, and fails (keeping nothing) when the lease was lost meanwhile: an operation
    /// commits only while it still owns its names.
    /// </summary>
    T Write<T>(Func<ICatalogWriter, T> work);
}

/// <summary>What an operation reads and changes inside one write transaction (<see cref="ICatalogStore.Write{T}"/>).</summary>
internal interface ICatalogWriter
{
    /// <summary>Every operation in the journal, oldest first.</summary>
    IReadOnlyList<JournalEntry> Operations();

    /// <summary>Journals an operation (phase 'started').</summary>
    void AddOperation(JournalEntry entry);

    /// <summary>Marks the operation committed; false when its row is gone.</summary>
    bool MarkCommitted(string id);

    /// <summary>Deletes the operation's row; false when it was already gone.</summary>
    bool RemoveOperation(string id);

    /// <summary>The golden registered under <paramref name="name"/> or at <paramref name="path"/>, if any.</summary>
    GoldenImage? FindGolden(string name, string path);

    /// <summary>The clones registered under one of <paramref name="names"/> or at one of <paramref name="paths"/>.</summary>
    IReadOnlyList<CloneRecord> FindClones(IReadOnlyCollection<string> names, IReadOnlyCollection<string> paths);

    /// <summary>The clones whose immediate parent is <paramref name="parentPath"/>.</summary>
    IReadOnlyList<CloneRecord> ChildrenOf(string parentPath);

    /// <summary>How many clones have <paramref name="golden"/> at the root of their chain.</summary>
    int CountClonesOf(string golden);

    /// <summary>Registers a golden; <see cref="CatalogConflictException"/> when its name or path is taken.</summary>
    void AddGolden(GoldenImage golden);

    /// <summary>Registers clones, all or none; <see cref="CatalogConflictException"/> when a name or path is taken.</summary>
    void AddClones(IReadOnlyList<CloneRecord> clones);

    /// <summary>Deletes a clone's record; false when it was not registered.</summary>
    bool RemoveClone(string name);

    /// <summary>Deletes a golden's record and those of every clone of it.</summary>
    void RemoveGoldenAndClones(string golden);

    /// <summary>Registers (or refreshes) a host and adds <paramref name="roots"/> to its storage roots.</summary>
    void RegisterHost(string name, IReadOnlyCollection<string> roots);
}
