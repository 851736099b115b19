namespace Prism.Provisioner.HyperV;

/// <summary>The CIM intrinsic types we emit in CIM-XML (DSP0201 <c>TYPE</c> attribute values).</summary>
internal enum CimXmlType
{
    String,
    Boolean,
    UInt16,
    UInt32,
    UInt64,
}
