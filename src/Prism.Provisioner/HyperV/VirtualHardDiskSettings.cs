using System.Globalization;

namespace Prism.Provisioner.HyperV;

/// <summary>
/// What to create through Hyper-V's <c>Msvm_ImageManagementService.CreateVirtualHardDisk</c>: the writable
/// properties of an embedded <c>Msvm_VirtualHardDiskSettingData</c>. Always VHDX (Format 3).
/// </summary>
public sealed record VirtualHardDiskSettings
{
    /// <summary>VHDX in Msvm_VirtualHardDiskSettingData.Format (VHD is 2, VHDSet 4).</summary>
    internal const ushort VhdxFormat = 3;

    /// <summary>Full path of the file to create, as the Hyper-V host sees it.</summary>
    public required string Path { get; init; }

    /// <summary>Fixed, dynamic or differencing.</summary>
    public VirtualHardDiskType Type { get; init; } = VirtualHardDiskType.Dynamic;

    /// <summary>Virtual size in bytes (MaxInternalSize); required for fixed and dynamic disks, unset for differencing ones.</summary>
    public long? MaxInternalSize { get; init; }

    /// <summary>Parent path; required for, and only for, differencing disks.</summary>
    public string? ParentPath { get; init; }

    /// <summary>Block size in bytes; null lets Hyper-V choose.</summary>
    public int? BlockSize { get; init; }

    /// <summary>Logical sector size (512 or 4096); null lets Hyper-V choose.</summary>
    public int? LogicalSectorSize { get; init; }

    /// <summary>Physical sector size (512 or 4096); null lets Hyper-V choose.</summary>
    public int? PhysicalSectorSize { get; init; }

    /// <summary>Checks the combination of settings.</summary>
    /// <exception cref="ArgumentException">A required setting is missing, or one is set that the disk type forbids.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Path, nameof(Path));
        if (!Enum.IsDefined(Type))
        {
            throw new ArgumentException($"unknown virtual hard disk type {(int)Type}", nameof(Type));
        }

        if (Type == VirtualHardDiskType.Differencing)
        {
            if (string.IsNullOrWhiteSpace(ParentPath))
            {
                throw new ArgumentException("a differencing disk needs a parent path", nameof(ParentPath));
            }

            if (MaxInternalSize is not null)
            {
                throw new ArgumentException("a differencing disk takes its size from its parent; do not set a size", nameof(MaxInternalSize));
            }
        }
        else
        {
            if (ParentPath is not null)
            {
                throw new ArgumentException($"only differencing disks have a parent, not {Type.ToString().ToLowerInvariant()} ones", nameof(ParentPath));
            }

            if (MaxInternalSize is not > 0)
            {
                throw new ArgumentException($"a {Type.ToString().ToLowerInvariant()} disk needs a size greater than zero", nameof(MaxInternalSize));
            }
        }

        CheckPositive(BlockSize, nameof(BlockSize));
        CheckSector(LogicalSectorSize, nameof(LogicalSectorSize));
        CheckSector(PhysicalSectorSize, nameof(PhysicalSectorSize));
    }

    /// <summary>The embedded Msvm_VirtualHardDiskSettingData instance (CIM-XML); unset optional values are omitted.</summary>
    internal CimXmlInstance ToCimInstance()
    {
        Validate();
        var instance = new CimXmlInstance(HyperVNames.Classes.VirtualHardDiskSettingData)
            .Set(HyperVNames.Properties.Type, (ushort)Type)
            .Set(HyperVNames.Properties.Format, VhdxFormat)
            .Set(HyperVNames.Properties.Path, Path);
        if (ParentPath is not null)
        {
            instance.Set(HyperVNames.Properties.ParentPath, ParentPath);
        }

        if (MaxInternalSize is long size)
        {
            instance.Set(HyperVNames.Properties.MaxInternalSize, (ulong)size);
        }

        if (BlockSize is int block)
        {
            instance.Set(HyperVNames.Properties.BlockSize, (uint)block);
        }

        if (LogicalSectorSize is int logical)
        {
            instance.Set(HyperVNames.Properties.LogicalSectorSize, (uint)logical);
        }

        if (PhysicalSectorSize is int physical)
        {
            instance.Set(HyperVNames.Properties.PhysicalSectorSize, (uint)physical);
        }

        return instance;
    }

    private static void CheckPositive(int? value, string name)
    {
        if (value is <= 0)
        {
            throw new ArgumentException($"{name} must be greater than zero, not {value.Value.ToString(CultureInfo.InvariantCulture)}", name);
        }
    }

    private static void CheckSector(int? value, string name)
    {
        if (value is not null and not 512 and not 4096)
        {
            throw new ArgumentException($"{name} must be 512 or 4096, not {value.Value.ToString(CultureInfo.InvariantCulture)}", name);
        }
    }
}
