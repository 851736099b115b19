using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Prism.Nbd.Tests;

/// <summary>A byte-level NBD client for protocol edge cases (what real clients never send).</summary>
internal sealed class RawNbdClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly NetworkStream _stream;

    public RawNbdClient(string socketPath)
    {
        _socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        _stream = new NetworkStream(_socket, ownsSocket: false);
        byte[] hello = Read(18);
        Assert.Equal(0x4e42444d41474943UL, BinaryPrimitives.ReadUInt64BigEndian(hello));
        Assert.Equal(0x49484156454F5054UL, BinaryPrimitives.ReadUInt64BigEndian(hello.AsSpan(8)));
        HandshakeFlags = BinaryPrimitives.ReadUInt16BigEndian(hello.AsSpan(16));
        Write(U32(1 | 2)); // fixed newstyle, no zeroes
    }

    public ushort HandshakeFlags { get; }

    public byte[] Read(int n)
    {
        byte[] b = new byte[n];
        _stream.ReadExactly(b);
        return b;
    }

    public void Write(params byte[][] parts)
    {
        foreach (byte[] p in parts)
        {
            _stream.Write(p);
        }
    }

    public static byte[] U16(ushort v)
    {
        byte[] b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    public static byte[] U32(uint v)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    public static byte[] U64(ulong v)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        return b;
    }

    public void SendOption(uint option, byte[] data) => Write(U64(0x49484156454F5054), U32(option), U32((uint)data.Length), data);

    /// <summary>One option reply: (option, type, data).</summary>
    public (uint Option, uint Type, byte[] Data) ReadOptionReply()
    {
        byte[] h = Read(20);
        Assert.Equal(0x3e889045565a9UL, BinaryPrimitives.ReadUInt64BigEndian(h));
        uint length = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16));
        return (BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(12)), Read((int)length));
    }

    /// <summary>NBD_OPT_GO for <paramref name="export"/>; returns the export size and transmission flags.</summary>
    public (ulong Size, ushort Flags) Go(string export)
    {
        byte[] name = Encoding.UTF8.GetBytes(export);
        SendOption(7, [.. U32((uint)name.Length), .. name, .. U16(0)]);
        ulong size = 0;
        ushort flags = 0;
        while (true)
        {
            (_, uint type, byte[] data) = ReadOptionReply();
            if (type == 1)
            {
                return (size, flags);
            }

            Assert.Equal(3u, type);
            if (BinaryPrimitives.ReadUInt16BigEndian(data) == 0)
            {
                size = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(2));
                flags = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(10));
            }
        }
    }

    public void SendRequest(ushort type, ulong cookie, ulong offset, uint length, ushort flags = 0, byte[]? payload = null)
    {
        Write(U32(0x25609513), U16(flags), U16(type), U64(cookie), U64(offset), U32(length));
        if (payload is not null)
        {
            Write(payload);
        }
    }

    /// <summary>A simple reply: (error, cookie).</summary>
    public (uint Error, ulong Cookie) ReadSimpleReply()
    {
        byte[] h = Read(16);
        Assert.Equal(0x67446698u, BinaryPrimitives.ReadUInt32BigEndian(h));
        return (BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(4)), BinaryPrimitives.ReadUInt64BigEndian(h.AsSpan(8)));
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }
}
