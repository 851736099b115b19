using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>Consistency check of one layer: headers, region tables, BAT entries, block placement, sector bitmaps.</summary>
public sealed partial class VhdxDisk
{
    /// <summary>Checks this file's structures; an empty list or only warnings means consistent.</summary>
    public IReadOnlyList<VhdxCheckIssue> Check(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var issues = new List<VhdxCheckIssue>();
        void Error(string m) => issues.Add(new VhdxCheckIssue(VhdxCheckSeverity.Error, m));
        void Warn(string m) => issues.Add(new VhdxCheckIssue(VhdxCheckSeverity.Warning, m));

        if (ValidHeaderCopies < 2)
        {
            Warn("one header copy is invalid (torn or damaged); the other copy is current and will rewrite it on the next write");
        }

        if (LogReplayedInMemory)
        {
            Warn($"the log (GUID {_header.LogGuid:B}) needs replay; it was applied in memory for this read-only check");
        }

        byte[] t1 = new byte[VhdxLayout.RegionTableSize];
        byte[] t2 = new byte[VhdxLayout.RegionTableSize];
        ReadZeroFilled(_storage, t1, VhdxLayout.RegionTable1Offset);
        ReadZeroFilled(_storage, t2, VhdxLayout.RegionTable2Offset);
        if (!t1.AsSpan().SequenceEqual(t2))
        {
            Warn("the two region table copies (0x30000, 0x40000) differ");
        }

        long fileLength = _storage.Length;
        var extents = new List<(long Start, long End, string What)>
        {
            (0, VhdxLayout.HeaderAreaSize, "header area"),
            ((long)_header.LogOffset, (long)_header.LogOffset + _header.LogLength, "log"),
        };
        foreach (RegionTableEntry r in _regions.Entries)
        {
            extents.Add((r.FileOffset, r.End, r.Guid == VhdxLayout.BatRegion ? "BAT region" : r.Guid == VhdxLayout.MetadataRegion ? "metadata region" : $"region {r.Guid}"));
            if (r.End > fileLength && r.Guid == VhdxLayout.MetadataRegion)
            {
                Error($"metadata region at 0x{r.FileOffset:X} extends past the end of the file (0x{fileLength:X})");
            }
        }

        int fixedStructures = extents.Count;
        long stride = ChunkRatio + 1;
        var partialChunks = new HashSet<long>();
        var presentBitmaps = new HashSet<long>();
        for (long index = 0; index < BatEntryCount; index++)
        {
            if (index % (EntriesPerPage * 256L) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                LoadBatPages((int)(index / EntriesPerPage), 256);
            }

            ulong entry = GetBatEntry(index);
            if (entry == 0)
            {
                continue;
            }

            long at = BatEntryFileOffset(index);
            int state = StateOf(entry);
            long offset = OffsetOf(entry);
            if ((entry & 0xFFFF8) != 0)
            {
                Error($"BAT entry {index} at 0x{at:X}: reserved bits set (0x{entry:X16})");
            }

            if (index % stride == ChunkRatio)
            {
                long chunk = index / stride;
                if (state == StateNotPresent)
                {
                    continue;
                }

                if (state != SbStatePresent)
                {
                    Error($"sector-bitmap entry {index} at 0x{at:X}: state {state} is reserved");
                    continue;
                }

                if (!_metadata.HasParent)
                {
                    Error($"sector-bitmap entry {index} at 0x{at:X}: SB_BLOCK_PRESENT in a {Type.ToString().ToLowerInvariant()} disk");
                }

                presentBitmaps.Add(chunk);
                extents.Add((offset, offset + VhdxLayout.MiB, $"sector bitmap of chunk {chunk} (BAT entry {index})"));
                continue;
            }

            long block = index - (index / stride);
            switch (state)
            {
                case StateNotPresent or StateUndefined or StateZero or StateUnmapped or StateUnmappedV095:
                    break;
                case StateFullyPresent or StatePartiallyPresent:
                    if (state == StatePartiallyPresent)
                    {
                        if (!_metadata.HasParent)
                        {
                            Error($"BAT entry {index} at 0x{at:X}: PARTIALLY_PRESENT in a non-differencing disk");
                        }

                        partialChunks.Add(block / ChunkRatio);
                    }

                    extents.Add((offset, offset + BlockSize, $"payload block {block} (BAT entry {index})"));
                    break;
                default:
                    Error($"BAT entry {index} at 0x{at:X}: reserved payload state {state}");
                    break;
            }
        }

        foreach (long chunk in partialChunks)
        {
            if (!presentBitmaps.Contains(chunk))
            {
                Error($"chunk {chunk} has PARTIALLY_PRESENT blocks but no sector bitmap (BAT entry {BitmapBatIndex(chunk)})");
            }
        }

        for (int i = fixedStructures; i < extents.Count; i++)
        {
            (long start, long end, string what) = extents[i];
            if (start < VhdxLayout.HeaderAreaSize)
            {
                Error($"{what} at 0x{start:X} lies in the 1 MiB header area");
            }
            else if (end > fileLength)
            {
                Error($"{what} at 0x{start:X} extends past the end of the file (0x{fileLength:X})");
            }
        }

        extents.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = 1; i < extents.Count; i++)
        {
            if (extents[i].Start < extents[i - 1].End && extents[i - 1].End > extents[i - 1].Start && extents[i].End > extents[i].Start)
            {
                Error($"{extents[i].What} at 0x{extents[i].Start:X} overlaps {extents[i - 1].What} at 0x{extents[i - 1].Start:X}");
            }
        }

        if (_metadata.HasParent && Parent is null)
        {
            Warn("the parent was not opened; the chain was not checked");
        }

        return issues;
    }

    /// <summary>Checks the whole chain: this disk and every parent. Issues carry the file they belong to.</summary>
    public IReadOnlyList<(string Path, VhdxCheckIssue Issue)> CheckChain(CancellationToken cancellationToken = default)
    {
        var all = new List<(string, VhdxCheckIssue)>();
        foreach (VhdxDisk d in Chain)
        {
            try
            {
                foreach (VhdxCheckIssue i in d.Check(cancellationToken))
                {
                    all.Add((d.Path, i));
                }
            }
            catch (DiskFormatException e)
            {
                all.Add((d.Path, new VhdxCheckIssue(VhdxCheckSeverity.Error, e.Message)));
            }
        }

        return all;
    }
}
