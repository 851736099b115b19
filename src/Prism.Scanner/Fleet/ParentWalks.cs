using System.Buffers.Binary;
using Prism.Disks.Guest;

namespace Prism.Scanner.Fleet;

/// <summary>
/// A golden's volume walks as the verdict store keeps them (<see cref="VerdictStore.SaveParentWalk"/>): "PRPW", a format
/// version (16 bits), the volume count, then per volume its disk offset, partition number and <see cref="GuestWalk"/>
/// (its own checksummed form, with its length); integers little-endian 7-bit varints.
/// </summary>
internal static class ParentWalks
{
    private const uint Magic = 0x5750_5250; // "PRPW"
    private const ushort Version = 1;

    public static byte[] Write(IReadOnlyDictionary<long, VolumeBaseline> volumes)
    {
        using var output = new MemoryStream();
        using (var w = new BinaryWriter(output, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            Span<byte> head = stackalloc byte[6];
            BinaryPrimitives.WriteUInt32LittleEndian(head, Magic);
            BinaryPrimitives.WriteUInt16LittleEndian(head[4..], Version);
            w.Write(head);
            w.Write7BitEncodedInt(volumes.Count);
            foreach ((long offset, VolumeBaseline v) in volumes.OrderBy(v => v.Key))
            {
                using var walk = new MemoryStream();
                v.Walk.Write(walk);
                w.Write7BitEncodedInt64(offset);
                w.Write7BitEncodedInt(v.Number);
                w.Write7BitEncodedInt64(walk.Length);
                w.Write(walk.GetBuffer(), 0, (int)walk.Length);
            }
        }

        return output.ToArray();
    }

    /// <summary>The volumes' walks, by disk offset.</summary>
    /// <exception cref="InvalidDataException">Not this form, another version, truncated, or a walk that does not read (with its offset).</exception>
    public static Dictionary<long, VolumeBaseline> Read(byte[] data, string name)
    {
        if (data.Length < 6 || BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic)
        {
            throw new InvalidDataException($"{name}: no \"PRPW\" signature at offset 0x0");
        }

        int version = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(4));
        if (version != Version)
        {
            throw new InvalidDataException($"{name}: parent walk format version {version} at offset 0x4, this Prism knows {Version}");
        }

        var volumes = new Dictionary<long, VolumeBaseline>();
        using var input = new MemoryStream(data, writable: false) { Position = 6 };
        using var r = new BinaryReader(input);
        try
        {
            int count = r.Read7BitEncodedInt();
            for (int i = 0; i < count; i++)
            {
                long offset = r.Read7BitEncodedInt64();
                int number = r.Read7BitEncodedInt();
                long at = input.Position;
                long length = r.Read7BitEncodedInt64();
                if (length < 0 || length > data.Length - input.Position)
                {
                    throw new InvalidDataException($"{name}: walk of {length} bytes at offset 0x{at:X} runs past the end");
                }

                GuestWalk walk = GuestWalk.Read(new MemoryStream(data, (int)input.Position, (int)length, writable: false),
                    $"{name}, walk of the volume at disk offset 0x{offset:X}");
                input.Position += length;
                volumes[offset] = new VolumeBaseline(number, walk);
            }
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or NotSupportedException)
        {
            throw new InvalidDataException($"{name}: {e.Message}", e);
        }

        return volumes;
    }
}
