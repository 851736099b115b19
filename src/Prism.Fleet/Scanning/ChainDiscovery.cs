using Prism.Disks.Vhdx;

namespace Prism.Fleet.Scanning;

/// <summary>Finds the differencing chains in a folder (<c>prism scan --dir</c>).</summary>
public static class ChainDiscovery
{
    /// <summary>A parent and the children found below it.</summary>
    /// <param name="Parent">The base disk the chains end in.</param>
    /// <param name="Clones">The differencing disks whose chain ends in it.</param>
    public sealed record Group(string Parent, IReadOnlyList<string> Clones);

    /// <summary>Every chain in <paramref name="directory"/> (.vhdx, .avhdx), grouped by base disk, in path order. A disk whose
    /// chain cannot be opened is added to <paramref name="unscannable"/> (an error of the run, never a silent skip).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static IReadOnlyList<Group> Find(string directory, bool allowRemoteParents, ICollection<string> unscannable)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(unscannable);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory}: no such directory");
        }

        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(directory).Where(f => f.EndsWith(".vhdx", StringComparison.OrdinalIgnoreCase)
            || f.EndsWith(".avhdx", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal))
        {
            try
            {
                using VhdxDisk d = VhdxDisk.Open(file, new VhdxOpenOptions { AllowRemoteParents = allowRemoteParents });
                IReadOnlyList<VhdxDisk> chain = d.Chain;
                if (chain.Count == 1)
                {
                    continue;
                }

                string root = chain[^1].Path;
                if (!groups.TryGetValue(root, out List<string>? list))
                {
                    groups[root] = list = [];
                }

                list.Add(d.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                unscannable.Add($"{file}: {e.Message.ReplaceLineEndings(" ")}");
            }
        }

        return [.. groups.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => new Group(g.Key, g.Value))];
    }
}
