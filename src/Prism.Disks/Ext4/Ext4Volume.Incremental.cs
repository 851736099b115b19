using System.Runtime.CompilerServices;
using Prism.Disks.Errors;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

public sealed partial class Ext4Volume
{
    // The parent walk's directory tree, built once per walk (no I/O) and shared by every clone patched from it.
    private static readonly ConditionalWeakTable<GuestWalk, WalkIndex> Indexes = [];

    /// <summary>
    /// The walk of this volume (a clone) patched from its parent's: the volume's geometry is checked against the parent
    /// walk, then the tree is walked again in the full walk's order, reusing every inode whose record, mapping blocks
    /// (and, for a directory, directory blocks) lie outside the divergence, and reading only the inodes and the
    /// directory blocks that do. Blocks an in-memory journal replay rewrote (in the parent or the clone) count as
    /// divergent. Falls back to a full walk (null walk, with the reason) when the superblock's layout or features, a
    /// group's bitmaps or inode table, or the journal's place changed, when the parent's walk had unreadable entries,
    /// or when something read now is damaged.
    /// </summary>
    GuestWalkResult IGuestVolume.PatchWalk(GuestWalk parent, IReadOnlyList<ByteRange> divergent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(divergent);
        if (parent.FileSystem != FileSystem || parent.DiskOffset != DiskOffset)
        {
            return new GuestWalkResult(null, "full walk: the parent's volume differs");
        }

        IReadOnlyList<ByteRange> replayed = ((IGuestVolume)this).ReplayedRanges;
        List<ByteRange> effective = ByteRanges.Coalesce(divergent.Concat(parent.Replayed).Concat(replayed));
        if (!ByteRanges.Touches(parent.Metadata, effective))
        {
            return new GuestWalkResult(parent, "walk reused: no metadata diverged");
        }

        if (parent.Errors.Count > 0)
        {
            return new GuestWalkResult(null, "full walk: the parent's walk has unreadable entries");
        }

        if (CheckGeometry(parent, effective) is string problem)
        {
            return new GuestWalkResult(null, "full walk: " + problem);
        }

        var patch = new Patch(this, Indexes.GetValue(parent, WalkIndex.Build), effective);
        try
        {
            return patch.Run();
        }
        catch (Exception e) when (e is Ext4FormatException or EndOfStreamException or PatchFallbackException)
        {
            return new GuestWalkResult(null, "full walk: " + e.Message);
        }
    }

    // Null when this volume's superblock and group layout are the parent walk's; else what changed.
    private string? CheckGeometry(GuestWalk parent, IReadOnlyList<ByteRange> effective)
    {
        // The primary superblock changes on every mount (counts, times): when it diverged, the layout and the features
        // that change how structures decode are compared with a backup that did not (mke2fs, tune2fs, resize2fs and
        // e2fsck write the backups with the primary; the kernel's routine updates touch only counters in the primary).
        if (ByteRanges.Touches(new ByteRange(DiskOffset + Ext4Superblock.PrimaryOffset, Ext4Superblock.Size), effective))
        {
            Ext4Superblock? backup = null;
            byte[] buffer = new byte[Ext4Superblock.Size];
            for (uint g = 1; g < _sb.GroupCount && backup is null; g++)
            {
                if (!_sb.GroupHasSuperblock(g))
                {
                    continue;
                }

                long at = _sb.GroupFirstBlock(g) * _sb.BlockSize;
                if (ByteRanges.Touches(new ByteRange(DiskOffset + at, Ext4Superblock.Size), effective))
                {
                    continue;
                }

                ReadBytes(at, buffer);
                backup = Ext4Superblock.TryRead(buffer, _source.Length, out Ext4Superblock sb, out _) ? sb : null;
                if (backup is null)
                {
                    return $"the superblock changed and the backup of group {g} is unreadable";
                }
            }

            if (backup is null)
            {
                return "the superblock and every backup of it changed";
            }

            if (LayoutDifference(_sb, backup) is string field)
            {
                return $"the superblock's {field} changed";
            }
        }

        // Group descriptors change with every allocation (free counts, flags): where a descriptor block diverged, the
        // places of the groups' bitmaps and inode tables are compared with a backup copy that did not (only mke2fs and
        // resize2fs write the backups).
        if (CheckDescriptors(effective) is string moved)
        {
            return moved;
        }

        // Every volume-wide structure (superblocks, descriptors, bitmaps, inode tables, journal) lies where the parent's did.
        IReadOnlyList<ByteRange> known = parent.Metadata;
        foreach (Ext4MetadataRange m in MetadataRanges)
        {
            var r = new ByteRange(m.Range.Offset + DiskOffset, m.Range.Length);
            if (!Contains(known, r))
            {
                return $"the {m.Kind} of group {m.Group} moved to 0x{r.Offset:X} (relocated or resized)";
            }
        }

        return null;
    }

    private string? CheckDescriptors(IReadOnlyList<ByteRange> effective)
    {
        int bs = _sb.BlockSize;
        uint perBlock = (uint)(bs / _sb.DescriptorSize);
        byte[] block = new byte[bs];
        for (uint first = 0; first < _sb.GroupCount; first += perBlock)
        {
            long primary = DescriptorBlock(_sb, first, backup: false);
            if (!ByteRanges.Touches(new ByteRange(DiskOffset + (primary * bs), bs), effective))
            {
                continue;
            }

            long copy = BackupDescriptorBlock(first, effective);
            if (copy < 0)
            {
                return $"the descriptors of groups {first}+ and every backup of them changed";
            }

            ReadBytes(copy * bs, block);
            for (uint g = first; g < Math.Min(_sb.GroupCount, first + perBlock); g++)
            {
                Ext4GroupDescriptor b = Ext4GroupDescriptor.Read(block.AsSpan((int)(g - first) * _sb.DescriptorSize, _sb.DescriptorSize), _sb.Is64Bit);
                Ext4GroupDescriptor a = _groups[g];
                if (a.InodeTable != b.InodeTable || a.BlockBitmap != b.BlockBitmap || a.InodeBitmap != b.InodeBitmap)
                {
                    return $"group {g}'s inode table or bitmaps moved (descriptor: table {a.InodeTable}, backup: {b.InodeTable})";
                }
            }
        }

        return null;
    }

    // A backup of the descriptor block holding group `first`'s descriptor that lies outside the divergence, or -1.
    private long BackupDescriptorBlock(uint first, IReadOnlyList<ByteRange> effective)
    {
        int bs = _sb.BlockSize;
        uint perBlock = (uint)(bs / _sb.DescriptorSize);
        uint metaGroup = first / perBlock;
        var candidates = new List<long>();
        if (_sb.HasMetaBg && metaGroup >= _sb.FirstMetaBg)
        {
            foreach (uint at in (ReadOnlySpan<uint>)[first + 1, first + perBlock - 1])
            {
                if (at < _sb.GroupCount)
                {
                    candidates.Add(_sb.GroupFirstBlock(at) + (_sb.GroupHasSuperblock(at) ? 1 : 0));
                }
            }
        }
        else
        {
            for (uint g = 1; g < _sb.GroupCount; g++)
            {
                if (_sb.GroupHasSuperblock(g))
                {
                    candidates.Add(_sb.GroupFirstBlock(g) + 1 + metaGroup);
                }
            }
        }

        foreach (long b in candidates)
        {
            if (b < _sb.BlocksCount && !ByteRanges.Touches(new ByteRange(DiskOffset + (b * bs), bs), effective))
            {
                return b;
            }
        }

        return -1;
    }

    private static string? LayoutDifference(Ext4Superblock a, Ext4Superblock b)
    {
        const uint compat = Ext4Superblock.CompatDirIndex | Ext4Superblock.CompatSparseSuper2 | Ext4Superblock.CompatHasJournal;
        const uint roCompat = Ext4Superblock.RoSparseSuper | Ext4Superblock.RoHugeFile | Ext4Superblock.RoGdtCsum | Ext4Superblock.RoBigalloc
            | Ext4Superblock.RoMetadataCsum;
        return a.BlockSize != b.BlockSize || a.BlocksCount != b.BlocksCount || a.FirstDataBlock != b.FirstDataBlock
                || a.BlocksPerGroup != b.BlocksPerGroup ? "block layout"
            : a.InodesCount != b.InodesCount || a.InodesPerGroup != b.InodesPerGroup || a.InodeSize != b.InodeSize ? "inode layout"
            : a.DescriptorSize != b.DescriptorSize || a.FirstMetaBg != b.FirstMetaBg || a.BackupGroup0 != b.BackupGroup0
                || a.BackupGroup1 != b.BackupGroup1 ? "descriptor layout"
            : (a.FeatureCompat & compat) != (b.FeatureCompat & compat) || (a.FeatureRoCompat & roCompat) != (b.FeatureRoCompat & roCompat)
                || (a.FeatureIncompat & ~Ext4Superblock.IncompatRecover) != (b.FeatureIncompat & ~Ext4Superblock.IncompatRecover) ? "feature set"
            : a.ChecksumSeed != b.ChecksumSeed || !a.UuidBytes.AsSpan().SequenceEqual(b.UuidBytes) ? "checksum seed"
            : a.JournalInode != b.JournalInode ? "journal inode"
            : null;
    }

    // True when `range` lies inside one range of the sorted, coalesced `sorted`.
    private static bool Contains(IReadOnlyList<ByteRange> sorted, ByteRange range)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid].End <= range.Offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo < sorted.Count && sorted[lo].Offset <= range.Offset && sorted[lo].End >= range.End;
    }

    private sealed class PatchFallbackException(string message) : Exception(message);

    /// <summary>The parent walk as a tree: each inode's first record, and each directory's names in walk order.</summary>
    private sealed class WalkIndex
    {
        public Dictionary<long, GuestWalkFile> ById { get; } = [];

        // Directory inode → indexes into the walk's files of its names, in directory order.
        public Dictionary<long, List<int>> Children { get; } = [];

        public IReadOnlyList<GuestWalkFile> Files { get; private set; } = [];

        // The walk itself: a clone's walk derives from it.
        public GuestWalk? Walk { get; private set; }

        public static WalkIndex Build(GuestWalk walk)
        {
            var index = new WalkIndex { Files = walk.Files, Walk = walk };
            var directories = new Dictionary<string, long>(StringComparer.Ordinal) { [string.Empty] = RootInode };
            Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> byPath = directories.GetAlternateLookup<ReadOnlySpan<char>>();
            for (int i = 0; i < walk.Files.Count; i++)
            {
                GuestWalkFile f = walk.Files[i];
                index.ById.TryAdd(f.Id, f);
                int slash = f.Path.LastIndexOf('/');
                if (slash >= 0 && byPath.TryGetValue(f.Path.AsSpan(0, slash), out long dir))
                {
                    if (!index.Children.TryGetValue(dir, out List<int>? list))
                    {
                        index.Children[dir] = list = [];
                    }

                    list.Add(i);
                }

                if (f.Type == GuestFileType.Directory)
                {
                    directories.TryAdd(f.Path, f.Id);
                }
            }

            return index;
        }
    }

    /// <summary>One name of a directory as the patched walk lists it.</summary>
    private readonly record struct PatchName(string Name, uint Inode, ByteRange NameRange, GuestWalkFile? Parent);

    /// <summary>One patch of a parent walk into a clone's (single use).</summary>
    private sealed class Patch(Ext4Volume volume, WalkIndex index, IReadOnlyList<ByteRange> divergent)
    {
        private readonly GuestWalk.Builder _builder = new(volume, index.Walk!);
        private readonly HashSet<uint> _directories = [];
        private readonly byte[] _record = new byte[volume.InodeSize];
        private readonly GuestMapBuffer _guestMap = new();
        private readonly MapScratch _map = new();
        private readonly DirListing _listing = new();
        private int _inodesRead, _blocksRead, _reused;

        public GuestWalkResult Run()
        {
            var root = new Ext4Inode();
            volume.ReadInode(RootInode, root, _record);
            if (root.Type != GuestFileType.Directory)
            {
                throw volume.Fail("ext4 root inode", root.VolumeOffset, $"inode {RootInode} is a {root.Type}, not a directory", RootInode);
            }

            // The root is never a walked file, so its blocks are not in the parent walk: its names are read every time.
            volume.ReadDirectory(root, _listing);
            _blocksRead += (int)((long)root.Size / volume.BlockSize);
            _directories.Add(RootInode);
            Walk(ListingNames(_listing), string.Empty, RootInode, 0);
            GuestWalk walk = _builder.Build();
            return new GuestWalkResult(walk, $"walk patched: {_inodesRead} inodes and {_blocksRead} directory blocks read, {_reused} paths reused");
        }

        private List<PatchName> ListingNames(DirListing listing)
        {
            var names = new List<PatchName>(listing.Entries.Count);
            foreach (DirEntry e in listing.Entries)
            {
                ByteRange block = e.Block.Length == 0 ? default : new ByteRange(e.Block.Offset + volume.DiskOffset, e.Block.Length);
                names.Add(new PatchName(listing.NameOf(e).ToString(), e.Inode, block, null));
            }

            return names;
        }

        private bool Touched(GuestWalkFile f) => ByteRanges.Touches(f.Metadata, divergent);

        private void Walk(List<PatchName> names, string directory, uint directoryInode, int depth)
        {
            foreach (PatchName n in names)
            {
                GuestWalkFile? before = index.ById.GetValueOrDefault(n.Inode);
                string path = n.Parent is { } same && same.Path.Length == directory.Length + 1 + n.Name.Length
                    && same.Path.AsSpan().StartsWith(directory, StringComparison.Ordinal) ? same.Path : directory + "/" + n.Name;
                if (before is not null && !ReferenceEquals(path, before.Path) && string.Equals(path, before.Path, StringComparison.Ordinal))
                {
                    path = before.Path;
                }

                GuestFileType type;
                Ext4Inode? inode = null;
                if (before is not null && !Touched(before))
                {
                    ByteRange at = volume.GetInodeRange(n.Inode);
                    if (before.Metadata.Count == 0 || before.Metadata[0] != new ByteRange(at.Offset + volume.DiskOffset, at.Length))
                    {
                        throw new PatchFallbackException($"inode {n.Inode} lies elsewhere than in the parent's walk");
                    }

                    _builder.Add(ReferenceEquals(path, before.Path) && before.NameRange == n.NameRange ? before
                        : before with { Path = path, NameRange = n.NameRange });
                    _reused++;
                    type = before.Type;
                }
                else
                {
                    inode = new Ext4Inode();
                    volume.ReadInode(n.Inode, inode, _record);
                    _inodesRead++;
                    var view = new GuestFileView(new Ext4FileView(volume, inode, _map, path, directoryInode, VolumeRange(n.NameRange)), _guestMap, volume.DiskOffset);
                    _builder.Add(view, view.GetSectorMap(), path);
                    type = inode.Type.GetValueOrDefault();
                }

                if (type != GuestFileType.Directory)
                {
                    continue;
                }

                if (depth + 1 >= MaxDirectoryDepth)
                {
                    throw new PatchFallbackException($"{path} is deeper than {MaxDirectoryDepth} levels");
                }

                if (!_directories.Add(n.Inode))
                {
                    throw new PatchFallbackException($"directory inode {n.Inode} reached through a second path");
                }

                List<PatchName> children = inode is null ? ParentNames(n.Inode) : Names(inode, before);
                Walk(children, path, n.Inode, depth + 1);
            }
        }

        private ByteRange VolumeRange(ByteRange disk) => disk.Length == 0 ? default : new ByteRange(disk.Offset - volume.DiskOffset, disk.Length);

        // The names of an untouched directory: the parent walk's, in its order.
        private List<PatchName> ParentNames(uint dir)
        {
            if (!index.Children.TryGetValue(dir, out List<int>? children))
            {
                return [];
            }

            var names = new List<PatchName>(children.Count);
            foreach (int i in children)
            {
                GuestWalkFile f = index.Files[i];
                names.Add(new PatchName(f.Path[(f.Path.LastIndexOf('/') + 1)..], (uint)f.Id, f.NameRange, f));
            }

            return names;
        }

        // The names of a directory whose inode was read again: its blocks outside the divergence that were its blocks in
        // the parent keep the parent's names; the others are read.
        private List<PatchName> Names(Ext4Inode dir, GuestWalkFile? before)
        {
            bool reusable = before is not null && before.Type == GuestFileType.Directory && before.Generation == dir.Generation && !dir.HasInlineData;
            if (!reusable)
            {
                volume.ReadDirectory(dir, _listing);
                _blocksRead += dir.HasInlineData ? 0 : (int)((long)dir.Size / volume.BlockSize);
                return ListingNames(_listing);
            }

            int bs = volume.BlockSize;
            DirListing listing = _listing;
            listing.Clear();
            if (listing.Block.Length < bs)
            {
                listing.Block = new byte[bs];
            }

            volume.Map(dir, listing.Map);
            bool htree = (dir.Flags & Ext4Inode.IndexFlag) != 0 && volume._sb.HasDirIndex;
            var blocks = new List<(long Offset, bool Read)>();
            bool anyRead = false;
            foreach (Ext4Extent e in listing.Map.Extents)
            {
                if (e.Kind != Ext4ExtentKind.Data)
                {
                    continue;
                }

                long count = (e.Length + bs - 1) / bs;
                for (long i = 0; i < count; i++)
                {
                    var disk = new ByteRange(volume.DiskOffset + e.VolumeOffset + (i * bs), bs);
                    bool read = ByteRanges.Touches(disk, divergent) || !WasBlockOf(before!, disk);
                    anyRead |= read;
                    blocks.Add((e.VolumeOffset + (i * bs), read));
                }
            }

            if (htree && anyRead)
            {
                // The index decides which blocks are leaves; it is validated as a full read validates it.
                volume.CheckHtree(dir, listing);
            }

            Dictionary<long, List<int>> byBlock = [];
            if (index.Children.TryGetValue(dir.Number, out List<int>? children))
            {
                foreach (int i in children)
                {
                    long at = index.Files[i].NameRange.Offset;
                    if (!byBlock.TryGetValue(at, out List<int>? list))
                    {
                        byBlock[at] = list = [];
                    }

                    list.Add(i);
                }
            }

            var names = new List<PatchName>();
            byte[] block = listing.Block;
            for (int b = 0; b < blocks.Count; b++)
            {
                (long offset, bool read) = blocks[b];
                if (!read)
                {
                    if (byBlock.TryGetValue(offset + volume.DiskOffset, out List<int>? same))
                    {
                        foreach (int i in same)
                        {
                            GuestWalkFile f = index.Files[i];
                            names.Add(new PatchName(f.Path[(f.Path.LastIndexOf('/') + 1)..], (uint)f.Id, f.NameRange, f));
                        }
                    }

                    continue;
                }

                long logical = LogicalOf(listing.Map.Extents, offset, bs);
                if (htree && (logical == 0 || listing.Nodes.Contains(logical)))
                {
                    continue;
                }

                int first = listing.Entries.Count;
                volume.ReadBytes(offset, block.AsSpan(0, bs));
                _blocksRead++;
                volume.ParseLeaf(dir, listing, block.AsSpan(0, bs), offset, volume._sb.HasMetadataCsum, checkTail: true);
                for (int i = first; i < listing.Entries.Count; i++)
                {
                    DirEntry e = listing.Entries[i];
                    names.Add(new PatchName(listing.NameOf(e).ToString(), e.Inode, new ByteRange(e.Block.Offset + volume.DiskOffset, e.Block.Length), null));
                }
            }

            return names;
        }

        // True when `block` was one of the directory's blocks in the parent walk (its metadata: inode, mapping, then data blocks, unsorted).
        private static bool WasBlockOf(GuestWalkFile dir, ByteRange block)
        {
            foreach (ByteRange m in dir.Metadata)
            {
                if (m.Offset <= block.Offset && m.End >= block.End)
                {
                    return true;
                }
            }

            return false;
        }

        private static long LogicalOf(List<Ext4Extent> extents, long offset, int bs)
        {
            foreach (Ext4Extent e in extents)
            {
                if (e.Kind == Ext4ExtentKind.Data && offset >= e.VolumeOffset && offset < e.VolumeOffset + e.Length)
                {
                    return (e.FileOffset + (offset - e.VolumeOffset)) / bs;
                }
            }

            return -1;
        }
    }
}
