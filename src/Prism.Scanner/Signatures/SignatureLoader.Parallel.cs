using System.Runtime.ExceptionServices;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Loading a folder on several cores: plain hash databases (hdb, hsb, mdb, msb, fp, sfp) are parsed by workers, each
/// into a loader of its own, while this loader reads the other files in order; the workers' hash sets, counts and
/// issues are then merged in file order. Nothing a worker reads changes while it runs (the ignore lists are read
/// before), and every part is merged where a sequential load would have put it, so the result is the same database:
/// the same records in the same order, the same name numbering, the same issues in the same order, and on a
/// malformed line the error of the first file in load order that has one.
/// </summary>
internal sealed partial class SignatureLoader
{
    /// <summary>Worker threads used to load a folder (cores by default); 1 loads sequentially. Tests set it to compare both.</summary>
    internal static int LoadParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>A loader sharing this one's ignore lists (read only) and nothing else.</summary>
    private SignatureLoader Fork() => new(_ignoredNames, _ignoredNameLineMd5);

    /// <summary>
    /// True when the files can be split between workers: more than one core, some plain hash database among other
    /// files, and no archive (a .cvd/.cld may hold an ignore list that applies to the files read after it).
    /// </summary>
    private static bool CanLoadInParallel(IReadOnlyList<string> files) =>
        LoadParallelism > 1 && files.Count > 1 && files.Any(f => IsHashType(TypeOf(f)))
        && !files.Any(f => TypeOf(f) is "cvd" or "cld");

    /// <summary>Loads <paramref name="files"/> (ignore lists first) with plain hash databases on worker threads; see the class summary.</summary>
    private void LoadInParallel(IReadOnlyList<string> files)
    {
        var hashFiles = new List<int>();
        var forks = new SignatureLoader?[files.Count];
        var errors = new Exception?[files.Count];
        var issueMarks = new int[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            if (IsHashType(TypeOf(files[i])))
            {
                hashFiles.Add(i);
            }
        }

        // Largest first, so that the last file taken is a small one and the workers finish together.
        int[] queue = [.. hashFiles.OrderByDescending(i => new FileInfo(files[i]).Length).ThenBy(i => i)];
        int next = -1;
        void Work()
        {
            for (int q = Interlocked.Increment(ref next); q < queue.Length; q = Interlocked.Increment(ref next))
            {
                int i = queue[q];
                SignatureLoader fork = Fork();
                try
                {
                    fork.LoadFile(files[i]);
                }
                catch (Exception e)
                {
                    errors[i] = e;
                }

                forks[i] = fork;
            }
        }

        int workers = Math.Min(LoadParallelism - 1, queue.Length);
        Task[] tasks = [.. Enumerable.Range(0, workers).Select(_ => Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        for (int i = 0; i < files.Count; i++)
        {
            if (IsHashType(TypeOf(files[i])))
            {
                issueMarks[i] = Issues.Count;
                continue;
            }

            try
            {
                LoadFile(files[i]);
            }
            catch (Exception e)
            {
                // A sequential load stops here: no later file can change which error it reports.
                errors[i] = e;
                break;
            }
        }

        // This thread takes the hash files no worker has started.
        Work();
        Task.WaitAll(tasks);
        if (Array.FindIndex(errors, e => e is not null) is int failed and >= 0)
        {
            ExceptionDispatchInfo.Capture(errors[failed]!).Throw();
        }

        MergeForks(hashFiles, forks, issueMarks);
    }

    /// <summary>Adds the workers' counts, issues and hash sets, in file order.</summary>
    private void MergeForks(List<int> hashFiles, SignatureLoader?[] forks, int[] issueMarks)
    {
        // Issues go where a sequential load would have added them; from the last file back, so earlier marks hold.
        for (int k = hashFiles.Count - 1; k >= 0; k--)
        {
            Issues.InsertRange(issueMarks[hashFiles[k]], forks[hashFiles[k]]!.Issues);
        }

        foreach (int i in hashFiles)
        {
            foreach ((string type, int[] c) in forks[i]!._counts)
            {
                Count(type, c[0], c[1], c[2]);
            }
        }

        Md5 = HashSignatureSet.Concatenate(Md5, [.. hashFiles.Select(i => forks[i]!.Md5)]);
        Sha1 = HashSignatureSet.Concatenate(Sha1, [.. hashFiles.Select(i => forks[i]!.Sha1)]);
        Sha256 = HashSignatureSet.Concatenate(Sha256, [.. hashFiles.Select(i => forks[i]!.Sha256)]);
        SectionMd5 = HashSignatureSet.Concatenate(SectionMd5, [.. hashFiles.Select(i => forks[i]!.SectionMd5)]);
        SectionSha1 = HashSignatureSet.Concatenate(SectionSha1, [.. hashFiles.Select(i => forks[i]!.SectionSha1)]);
        SectionSha256 = HashSignatureSet.Concatenate(SectionSha256, [.. hashFiles.Select(i => forks[i]!.SectionSha256)]);
    }
}
