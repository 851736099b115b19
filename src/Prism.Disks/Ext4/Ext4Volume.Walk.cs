using System.Text;
using Prism.Disks.Errors;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

public sealed partial class Ext4Volume
{
    private sealed class WalkState(Ext4Volume volume, Ext4FileVisitor visitor, Action<Ext4EnumerationError>? onError, CancellationToken cancellationToken)
    {
        private readonly List<DirListing> _listings = [];

        public Ext4Volume Volume { get; } = volume;

        public Ext4FileVisitor Visitor { get; } = visitor;

        public Action<Ext4EnumerationError>? OnError { get; } = onError;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public Ext4Inode Inode { get; } = new();

        public MapScratch Map { get; } = new();

        public byte[] Record { get; } = new byte[volume.InodeSize];

        public InodeTableCache Tables { get; } = new(volume);

        public HashSet<uint> Directories { get; } = [];

        public char[] Path { get; set; } = new char[1024];

        public DirListing Listing(int depth)
        {
            while (_listings.Count <= depth)
            {
                _listings.Add(new DirListing());
            }

            return _listings[depth];
        }

        public void Report(ReadOnlySpan<char> path, uint inode, Exception ex)
            => OnError?.Invoke(new Ext4EnumerationError(path.ToString(), inode, ex));
    }

    /// <summary>
    /// Walks every path under <paramref name="directory"/> depth-first (directory order) and hands each to
    /// <paramref name="visitor"/> without an object per file: the way to go over a whole volume. A hard-linked file is
    /// visited once per path. A corrupt inode, mapping or directory is reported to <paramref name="onError"/> and skipped.
    /// </summary>
    /// <param name="visitor">Called once per path, on the calling thread; what it throws ends the walk.</param>
    /// <param name="directory">Start directory ("/" for the root; the start itself is not visited).</param>
    /// <param name="recursive">Descend into subdirectories.</param>
    /// <param name="onError">Receives each skipped entry; null ignores them.</param>
    /// <param name="cancellationToken">Checked once per entry.</param>
    /// <exception cref="FileNotFoundException"><paramref name="directory"/> does not exist or is not a directory.</exception>
    /// <exception cref="Ext4FormatException">The start directory's own inode is corrupt.</exception>
    public void Visit(Ext4FileVisitor visitor, string directory = "/", bool recursive = true,
        Action<Ext4EnumerationError>? onError = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        Ext4FileEntry start = FindDirectory(directory);
        var walk = new WalkState(this, visitor, onError, cancellationToken);
        int length = start.Path == "/" ? 0 : start.Path.Length;
        start.Path.AsSpan(0, length).CopyTo(EnsurePath(walk, length));
        walk.Directories.Add(start.Inode);
        WalkDirectory(walk, start.Record.Clone(), length, 0, recursive);
    }

    /// <summary>
    /// Every path under <paramref name="directory"/> as an <see cref="Ext4FileEntry"/>, in <see cref="Visit"/>'s order
    /// (collected by a <see cref="Visit"/> walk, then returned).
    /// </summary>
    /// <exception cref="FileNotFoundException"><paramref name="directory"/> does not exist or is not a directory.</exception>
    public IReadOnlyList<Ext4FileEntry> Enumerate(string directory = "/", bool recursive = true,
        Action<Ext4EnumerationError>? onError = null, CancellationToken cancellationToken = default)
    {
        var entries = new List<Ext4FileEntry>();
        Visit((in Ext4FileView f) => entries.Add(f.ToEntry()), directory, recursive, onError, cancellationToken);
        return entries;
    }

    private static char[] EnsurePath(WalkState walk, int length)
    {
        if (walk.Path.Length < length)
        {
            char[] bigger = new char[Math.Max(length, walk.Path.Length * 2)];
            walk.Path.CopyTo(bigger, 0);
            walk.Path = bigger;
        }

        return walk.Path;
    }

    private void WalkDirectory(WalkState walk, Ext4Inode dir, int pathLength, int depth, bool recursive)
    {
        DirListing listing = walk.Listing(depth);
        try
        {
            ReadDirectory(dir, listing);
        }
        catch (Exception ex) when (ex is Ext4FormatException or EndOfStreamException)
        {
            walk.Report(pathLength == 0 ? "/" : walk.Path.AsSpan(0, pathLength), dir.Number, ex);
            return;
        }

        for (int i = 0; i < listing.Entries.Count; i++)
        {
            walk.CancellationToken.ThrowIfCancellationRequested();
            DirEntry entry = listing.Entries[i];
            ReadOnlySpan<char> name = listing.NameOf(entry);
            int length = pathLength + 1 + name.Length;
            char[] path = EnsurePath(walk, length);
            path[pathLength] = '/';
            name.CopyTo(path.AsSpan(pathLength + 1));
            ReadOnlySpan<char> full = path.AsSpan(0, length);
            Ext4Inode inode = walk.Inode;
            try
            {
                ReadInode(entry.Inode, inode, walk.Record, walk.Tables);
            }
            catch (Exception ex) when (ex is Ext4FormatException or EndOfStreamException)
            {
                walk.Report(full, entry.Inode, ex);
                continue;
            }

            walk.Visitor(new Ext4FileView(this, inode, walk.Map, full, dir.Number, entry.Block));
            if (!recursive || inode.Type != GuestFileType.Directory)
            {
                continue;
            }

            if (depth + 1 >= MaxDirectoryDepth)
            {
                walk.Report(full, entry.Inode, Fail($"ext4 directory inode {entry.Inode}", inode.VolumeOffset, $"deeper than {MaxDirectoryDepth} levels", entry.Inode));
                continue;
            }

            if (!walk.Directories.Add(entry.Inode))
            {
                walk.Report(full, entry.Inode, Fail($"ext4 directory inode {entry.Inode}", inode.VolumeOffset,
                    "directory reached through a second path (a directory hard link or a loop)", entry.Inode));
                continue;
            }

            WalkDirectory(walk, inode.Clone(), length, depth + 1, recursive);
        }
    }

    private Ext4FileEntry FindDirectory(string directory)
    {
        Ext4FileEntry dir = Find(directory) ?? throw new FileNotFoundException($"no such directory: {directory}", directory);
        if (!dir.IsDirectory)
        {
            throw new FileNotFoundException($"not a directory: {directory}", directory);
        }

        return dir;
    }

    /// <summary>
    /// Looks a path up (case-sensitively, byte-wise in UTF-8; through the htree of hashed directories); null when a component
    /// is missing. Symlinks are not followed.
    /// </summary>
    /// <exception cref="Ext4FormatException">A directory or inode on the way is corrupt.</exception>
    public Ext4FileEntry? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] record = new byte[InodeSize];
        var current = new Ext4Inode();
        ReadInode(RootInode, current, record);
        if (current.Type != GuestFileType.Directory)
        {
            throw Fail("ext4 root inode", current.VolumeOffset, $"inode {RootInode} is a {current.Type}, not a directory", RootInode);
        }

        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var resolved = new StringBuilder();
        uint parent = RootInode;
        ByteRange entryRange = default;
        var listing = new DirListing();
        foreach (string part in parts)
        {
            if (current.Type != GuestFileType.Directory)
            {
                return null;
            }

            int found = LookupName(current, part, listing);
            if (found < 0)
            {
                return null;
            }

            DirEntry e = listing.Entries[found];
            parent = current.Number;
            entryRange = e.Block;
            current = new Ext4Inode();
            ReadInode(e.Inode, current, record);
            resolved.Append('/').Append(part);
        }

        return new Ext4FileEntry(resolved.Length == 0 ? "/" : resolved.ToString(), parent, entryRange, current);
    }

    /// <summary>
    /// The sector map of <paramref name="entry"/>: ranges in file order covering exactly its size, each data, unwritten,
    /// hole or inline (inside the inode record); empty for devices, FIFOs, sockets and empty files.
    /// </summary>
    /// <exception cref="Ext4FormatException">The extent tree or block map is corrupt.</exception>
    public IReadOnlyList<Ext4Extent> GetSectorMap(Ext4FileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var map = new MapScratch();
        Map(entry.Record, map);
        return [.. map.Extents];
    }

    /// <summary>The extent-tree index and leaf blocks, or the indirect blocks, that map <paramref name="entry"/>'s content.</summary>
    /// <exception cref="Ext4FormatException">The extent tree or block map is corrupt.</exception>
    public IReadOnlyList<ByteRange> GetMetadataBlocks(Ext4FileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var map = new MapScratch();
        Map(entry.Record, map);
        return [.. map.MetadataBlocks];
    }

    /// <summary>
    /// The content of a file, directory or symlink as a positional source (unwritten extents and holes read as zeros).
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="entry"/> is a device, FIFO or socket: those are never read.</exception>
    /// <exception cref="Ext4FormatException">The extent tree or block map is corrupt.</exception>
    public IDiskSource OpenFile(Ext4FileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Type is not (GuestFileType.File or GuestFileType.Directory or GuestFileType.Symlink))
        {
            throw new NotSupportedException($"{entry.Path} is a {entry.Type}; device, FIFO and socket inodes are never read");
        }

        var map = new MapScratch();
        Map(entry.Record, map);
        return new Ext4FileSource(this, [.. map.Extents], entry.Size);
    }

    /// <summary>A read-only seekable stream over <see cref="OpenFile"/>.</summary>
    /// <exception cref="NotSupportedException"><paramref name="entry"/> is a device, FIFO or socket.</exception>
    public Stream OpenRead(Ext4FileEntry entry) => new DiskStream(OpenFile(entry));

    /// <summary>The target of a symbolic link (fast, slow or inline), decoded as UTF-8.</summary>
    /// <exception cref="ArgumentException"><paramref name="entry"/> is not a symlink.</exception>
    /// <exception cref="Ext4FormatException">The link's size or mapping is corrupt.</exception>
    public string ReadSymlink(Ext4FileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Type != GuestFileType.Symlink)
        {
            throw new ArgumentException($"{entry.Path} is not a symlink", nameof(entry));
        }

        if (entry.Size > 65536)
        {
            throw Fail($"ext4 inode {entry.Inode}", entry.InodeRange.Offset, $"symlink target of {entry.Size} bytes", entry.Inode);
        }

        byte[] target = new byte[entry.Size];
        OpenFile(entry).ReadExactly(target, 0);
        return Encoding.UTF8.GetString(target);
    }
}
