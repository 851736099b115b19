namespace Prism.Disks.Ntfs;

/// <summary>One decoded mapping-pair run: <see cref="ClusterCount"/> clusters from <see cref="Vcn"/>; <see cref="Lcn"/> -1 when sparse.</summary>
internal readonly record struct DataRun(long Vcn, long Lcn, long ClusterCount)
{
    public bool IsSparse => Lcn < 0;

    public long NextVcn => Vcn + ClusterCount;
}
