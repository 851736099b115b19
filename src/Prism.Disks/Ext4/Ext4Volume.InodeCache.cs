namespace Prism.Disks.Ext4;

public sealed partial class Ext4Volume
{
    /// <summary>
    /// The inode tables as one full walk reads them: in 256 KiB chunks of the in-use part of each group's table
    /// (bg_itable_unused excluded), the last 64 chunks kept. A cold walk then reads the tables in large sequential reads
    /// instead of one small random read per inode. For whole-volume walks only: a clone's patched walk reads single inodes.
    /// Single-threaded, like the walk that owns it.
    /// </summary>
    internal sealed class InodeTableCache(Ext4Volume volume)
    {
        private const int ChunkSize = 256 * 1024;
        private const int MaxChunks = 64;
        private readonly Dictionary<long, byte[]> _chunks = [];
        private readonly Queue<long> _order = new();

        /// <summary>Copies inode <paramref name="number"/>'s record (at <paramref name="offset"/>) from its chunk; false when it lies past the in-use part.</summary>
        public bool TryRead(uint number, long offset, Span<byte> record)
        {
            Ext4Superblock sb = volume._sb;
            uint g = (number - 1) / sb.InodesPerGroup;
            Ext4GroupDescriptor gd = volume._groups[g];
            long table = gd.InodeTable * sb.BlockSize;
            long used = (sb.HasGdtCsum || sb.HasMetadataCsum) && gd.ItableUnused <= sb.InodesPerGroup
                ? (long)(sb.InodesPerGroup - gd.ItableUnused) * sb.InodeSize
                : sb.InodeTableLength;
            long within = offset - table;
            if (within < 0 || within + record.Length > used)
            {
                return false;
            }

            long start = within / ChunkSize * ChunkSize;
            long key = table + start;
            if (!_chunks.TryGetValue(key, out byte[]? chunk))
            {
                int length = (int)Math.Min(ChunkSize, used - start);
                chunk = null;
                if (_order.Count >= MaxChunks && _chunks.Remove(_order.Dequeue(), out byte[]? evicted) && evicted.Length == length)
                {
                    chunk = evicted;
                }

                chunk ??= new byte[length];
                volume.ReadBytes(key, chunk);
                _chunks[key] = chunk;
                _order.Enqueue(key);
            }

            chunk.AsSpan((int)(within - start), record.Length).CopyTo(record);
            return true;
        }
    }
}
