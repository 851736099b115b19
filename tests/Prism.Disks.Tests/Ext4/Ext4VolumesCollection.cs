namespace Prism.Disks.Tests.Ext4;

/// <summary>Shares one <see cref="Ext4VolumesFixture"/> (images and oracle outputs) among the ext4 test classes.</summary>
[CollectionDefinition(Name)]
public sealed class Ext4VolumesCollection : ICollectionFixture<Ext4VolumesFixture>
{
    public const string Name = "ext4 volumes";
}
