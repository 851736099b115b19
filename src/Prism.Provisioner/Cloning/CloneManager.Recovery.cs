using Prism.Disks.Errors;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;

namespace Prism.Provisioner.Cloning;

/// <summary>Recovery of an interrupted operation from its journaled plan (shared by a failing operation and by repair).</summary>
public sealed partial class CloneManager
{
    private static readonly System.Buffers.SearchValues<char> s_lowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>
    /// Finishes (<paramref name="committed"/>) or rolls back an operation, so every clone it touched is fully as after or
    /// fully as before. Returns what it did, one line per action. Files it deletes hold no data of their own (a fresh,
    /// empty child) or are copies derived from files that stay (merge's merged parent, promote's flat copy); a clone moved
    /// aside is moved back. Idempotent: running it again after a partial run completes the job.
    /// </summary>
    internal List<string> Recover(OperationPlan plan, bool committed)
    {
        var done = new List<string>();
        HashSet<string> registered = [.. _catalog.Clones().Select(c => c.Path), .. _catalog.Goldens().Select(g => g.Path)];
        switch (plan.Kind)
        {
            case "clone-new" when !committed:
                foreach (string f in plan.NewFiles ?? [])
                {
                    DeleteFreshChild(f, registered, done);
                }

                break;
            case "reset":
                // The rename is the commit point: a fresh child still under its temporary name was never swapped in.
                if (plan.Temp is not null)
                {
                    DeleteFreshChild(plan.Temp, registered, done);
                }

                break;
            case "remove":
                if (committed)
                {
                    DeleteIfExists(plan.Trash, "the removed clone's file", done);
                }
                else
                {
                    MoveBack(plan.Trash, plan.Path, overwrite: false, done);
                }

                break;
            case "merge":
                if (committed)
                {
                    DeleteIfExists(plan.Trash, "the merged clone's old file", done);
                    DeleteIfExists(plan.Backup, "the parent's pre-merge copy", done);
                    DeleteIfExists(plan.Temp, "an unused merge copy", done);
                }
                else
                {
                    // Everything derived goes first; then the parent's original and the clone return to their names. If the
                    // merged copy was already swapped in, it is overwritten by the original (it was derived from the two).
                    DeleteIfExists(plan.Temp, "the half-built merged parent", done);
                    MoveBack(plan.Backup, plan.ParentPath, overwrite: true, done);
                    MoveBack(plan.Trash, plan.Path, overwrite: false, done);
                }

                break;
            case "promote" when !committed:
                DeleteIfExists(plan.Temp, "the half-built promoted copy", done);
                DeleteFreshTemps(plan.Temp, done);
                if (plan.Target is not null && File.Exists(plan.Target) && DiskIdOf(plan.Target) == plan.TargetDiskId)
                {
                    FileSealing.Unseal(plan.Target);
                    DeleteIfExists(plan.Target, "the promoted copy never registered", done);
                }

                break;
            case "golden-add" when !committed:
                if (!plan.WasSealed && plan.Path is not null && File.Exists(plan.Path) && VhdxDisk.IsSealed(plan.Path))
                {
                    FileSealing.Unseal(plan.Path);
                    done.Add($"unsealed {plan.Path} (never registered)");
                }

                break;
            case "golden-remove" when committed:
                if (plan.Unseal && plan.Path is not null && File.Exists(plan.Path) && VhdxDisk.IsSealed(plan.Path))
                {
                    FileSealing.Unseal(plan.Path);
                    done.Add($"unsealed {plan.Path} (unregistered)");
                }

                break;
            default:
                break;
        }

        return done;
    }

    /// <summary>
    /// Deletes a file the operation created if it still holds nothing of its own: a differencing disk with no allocated
    /// block, not registered in the catalog. Anything else (someone else's file, a clone that was written) is kept.
    /// Partial files of the same name (<c>.NAME.GUID.prism-tmp</c>, never visible under the name) go too.
    /// </summary>
    private static void DeleteFreshChild(string path, HashSet<string> registered, List<string> done)
    {
        DeleteFreshTemps(path, done);
        if (!File.Exists(path))
        {
            return;
        }

        if (registered.Contains(path))
        {
            return;
        }

        if (!IsEmptyChild(path))
        {
            done.Add($"kept {path}: not an empty new child (it holds data, or it is not Prism's)");
            return;
        }

        File.Delete(path);
        done.Add($"deleted {path} (an empty new child, never registered)");
    }

    /// <summary>True for a differencing VHDX that holds no block of its own (its content is its parent's).</summary>
    internal static bool IsEmptyChild(string path)
    {
        try
        {
            using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { SkipParent = true });
            return d.Type == VhdxDiskType.Differencing && d.GetAllocatedBytes() == 0;
        }
        catch (Exception e) when (e is IOException or DiskFormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The partial files a disk creation leaves (<c>.NAME.GUID.prism-tmp</c>): fresh bytes, never visible under NAME.</summary>
    private static void DeleteFreshTemps(string? path, List<string> done)
    {
        if (path is null || Path.GetDirectoryName(path) is not { } dir || !Directory.Exists(dir))
        {
            return;
        }

        foreach (string f in Directory.EnumerateFiles(dir, "." + Path.GetFileName(path) + ".*" + TempMarker))
        {
            if (IsCreationTemp(f, path))
            {
                File.Delete(f);
                done.Add($"deleted {f} (a partial new file)");
            }
        }
    }

    /// <summary>True when <paramref name="file"/> is <c>.NAME.GUID.prism-tmp</c> for <paramref name="path"/>'s NAME.</summary>
    private static bool IsCreationTemp(string file, string path)
    {
        string name = Path.GetFileName(file);
        string prefix = "." + Path.GetFileName(path) + ".";
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(TempMarker, StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> middle = name.AsSpan(prefix.Length, name.Length - prefix.Length - TempMarker.Length);
        return middle.Length == 32 && !middle.ContainsAnyExcept(s_lowerHex);
    }

    private static void DeleteIfExists(string? path, string what, List<string> done)
    {
        if (path is not null && File.Exists(path))
        {
            if (VhdxDisk.IsSealed(path))
            {
                FileSealing.Unseal(path);
            }

            File.Delete(path);
            done.Add($"deleted {path} ({what})");
        }
    }

    private static void MoveBack(string? from, string? to, bool overwrite, List<string> done)
    {
        if (from is null || to is null || !File.Exists(from))
        {
            return;
        }

        if (File.Exists(to) && !overwrite)
        {
            // Both exist: keep both rather than guess which one is the data; the temporary name stays in the journal's report.
            done.Add($"kept {from}: {to} exists too; compare them and keep the right one by hand");
            return;
        }

        File.Move(from, to, overwrite);
        done.Add($"restored {to} from {Path.GetFileName(from)}");
    }

    private static Guid? DiskIdOf(string path)
    {
        try
        {
            using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { SkipParent = true });
            return d.DiskId;
        }
        catch (Exception e) when (e is IOException or DiskFormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
