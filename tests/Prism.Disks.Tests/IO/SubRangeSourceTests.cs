using Prism.Disks.IO;

namespace Prism.Disks.Tests.IO;

public sealed class SubRangeSourceTests
{
    [Fact]
    public void Read_InsideWindow_ReturnsShiftedBytes()
    {
        byte[] data = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        IDiskSource window = new MemoryDiskSource(data).Slice(10, 20);
        byte[] buf = new byte[30];
        int n = window.Read(buf, 15);
        Assert.Equal(5, n);
        Assert.Equal(new byte[] { 25, 26, 27, 28, 29 }, buf[..5]);
    }

    [Fact]
    public void Constructor_RangeOutsideSource_Throws()
    {
        var src = new MemoryDiskSource(new byte[10]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SubRangeSource(src, 5, 6));
    }
}
