using System.Buffers.Binary;
using System.Text;
using Prism.Testing;

namespace Prism.Nbd.Tests;

/// <summary>Negotiation and transmission edge cases, byte by byte: each gets the reply the NBD spec prescribes and the
/// server keeps serving.</summary>
public sealed class ProtocolTests : NbdServerTest
{
    [Fact]
    public void Handshake_IsFixedNewstyleWithNoZeroes()
    {
        using var c = new RawNbdClient(Server.Socket);
        Assert.Equal(3, c.HandshakeFlags);
    }

    [Fact]
    public void UnknownOption_IsUnsupported_AndNegotiationGoesOn()
    {
        using var c = new RawNbdClient(Server.Socket);
        c.SendOption(4242, [1, 2, 3]);
        (uint option, uint type, _) = c.ReadOptionReply();
        Assert.Equal((4242u, 0x80000001u), (option, type));

        (ulong size, ushort flags) = c.Go("leaf");
        Assert.Equal((ulong)NbdTestServer.Size, size);
        Assert.Equal(0, flags & 2); // writable
        Assert.NotEqual(0, flags & 256); // multi-conn
    }

    [Fact]
    public void List_NamesEveryExport_ThenAcks()
    {
        using var c = new RawNbdClient(Server.Socket);
        c.SendOption(3, []);
        var names = new List<string>();
        while (true)
        {
            (_, uint type, byte[] data) = c.ReadOptionReply();
            if (type == 1)
            {
                break;
            }

            Assert.Equal(2u, type);
            names.Add(Encoding.UTF8.GetString(data, 4, (int)BinaryPrimitives.ReadUInt32BigEndian(data)));
        }

        Assert.Equal(["base", "leaf"], names);
    }

    [Fact]
    public void GoForAnUnknownExport_IsErrUnknown_AndTheParentIsReadOnly()
    {
        using var c = new RawNbdClient(Server.Socket);
        byte[] name = Encoding.UTF8.GetBytes("nope");
        c.SendOption(7, [.. RawNbdClient.U32((uint)name.Length), .. name, .. RawNbdClient.U16(0)]);
        Assert.Equal(0x80000006u, c.ReadOptionReply().Type);

        (_, ushort flags) = c.Go("base");
        Assert.NotEqual(0, flags & 2);
    }

    [Fact]
    public void OversizedOption_IsTooBig_AndDrained()
    {
        using var c = new RawNbdClient(Server.Socket);
        c.SendOption(6, new byte[200_000]);
        Assert.Equal(0x80000009u, c.ReadOptionReply().Type);
        Assert.Equal((ulong)NbdTestServer.Size, c.Go("leaf").Size);
    }

    [Fact]
    public void Transmission_EdgeCases_GetTheirErrors_AndTheConnectionServesOn()
    {
        using var c = new RawNbdClient(Server.Socket);
        c.Go("leaf");

        c.SendRequest(0, 1, (ulong)NbdTestServer.Size - 512, 1024); // read past the end
        Assert.Equal((22u, 1ul), c.ReadSimpleReply());
        c.SendRequest(0, 2, 0, 0); // zero-length read
        Assert.Equal((22u, 2ul), c.ReadSimpleReply());
        c.SendRequest(0, 3, 0, 64u << 20); // larger than the maximum block size
        Assert.Equal((75u, 3ul), c.ReadSimpleReply());
        c.SendRequest(1, 4, 0, 64u << 20, payload: new byte[64 << 20]); // oversized write: drained, refused
        Assert.Equal((75u, 4ul), c.ReadSimpleReply());
        c.SendRequest(7, 5, 0, 4096); // block status without structured replies
        Assert.Equal((22u, 5ul), c.ReadSimpleReply());
        c.SendRequest(99, 6, 0, 0); // unknown command
        Assert.Equal((22u, 6ul), c.ReadSimpleReply());

        byte[] data = NbdTestServer.Pattern(1000, 9);
        c.SendRequest(1, 7, 12345, 1000, flags: 1, payload: data); // FUA write, unaligned
        Assert.Equal((0u, 7ul), c.ReadSimpleReply());
        c.SendRequest(0, 8, 12345, 1000);
        Assert.Equal((0u, 8ul), c.ReadSimpleReply());
        Assert.Equal(data, c.Read(1000));
    }

    [Fact]
    public void WriteToAReadOnlyExport_IsEPerm()
    {
        using var c = new RawNbdClient(Server.Socket);
        c.Go("base");
        c.SendRequest(1, 1, 0, 512, payload: new byte[512]);
        Assert.Equal((1u, 1ul), c.ReadSimpleReply());
        c.SendRequest(6, 2, 0, 512);
        Assert.Equal((1u, 2ul), c.ReadSimpleReply());
    }

    [Fact]
    public void AClientThatDisconnectsMidRequest_LeavesTheOthersServed()
    {
        using (var c = new RawNbdClient(Server.Socket))
        {
            c.Go("leaf");
            c.SendRequest(1, 1, 0, 1 << 20, payload: new byte[1000]); // promises 1 MiB, sends 1000 bytes, goes away
        }

        var clients = Enumerable.Range(0, 16).Select(_ => new RawNbdClient(Server.Socket)).ToList();
        try
        {
            foreach (RawNbdClient c in clients)
            {
                c.Go("leaf");
            }

            for (int i = 0; i < clients.Count; i++)
            {
                clients[i].SendRequest(0, (ulong)i, (ulong)i * 4096, 4096);
            }

            for (int i = 0; i < clients.Count; i++)
            {
                Assert.Equal((0u, (ulong)i), clients[i].ReadSimpleReply());
                clients[i].Read(4096);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public void StructuredReplies_ReadIsOneOffsetDataChunk_ErrorsAreErrorChunks()
    {
        using var c = new RawNbdClient(Server.Socket);
        c.SendOption(8, []);
        Assert.Equal(1u, c.ReadOptionReply().Type);
        c.Go("leaf");

        c.SendRequest(0, 11, 4096, 512);
        byte[] h = c.Read(20);
        Assert.Equal(0x668e33efu, BinaryPrimitives.ReadUInt32BigEndian(h));
        Assert.Equal((ushort)1, BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(4))); // DONE
        Assert.Equal((ushort)1, BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(6))); // OFFSET_DATA
        Assert.Equal(520u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16)));
        Assert.Equal(4096ul, BinaryPrimitives.ReadUInt64BigEndian(c.Read(8)));
        Assert.Equal(NbdTestServer.Pattern(3 << 20, 1).AsSpan(4096, 512).ToArray(), c.Read(512));

        c.SendRequest(0, 12, (ulong)NbdTestServer.Size, 512);
        h = c.Read(20);
        Assert.Equal((ushort)0x8001, BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(6)));
        byte[] payload = c.Read((int)BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16)));
        Assert.Equal(22u, BinaryPrimitives.ReadUInt32BigEndian(payload));
    }
}
