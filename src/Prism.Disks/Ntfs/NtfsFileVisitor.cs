namespace Prism.Disks.Ntfs;

/// <summary>Receives one file or directory from <see cref="NtfsVolume.Visit"/>; <paramref name="file"/> is valid only during the call.</summary>
/// <param name="file">The file, its streams and (on request) its sector map.</param>
public delegate void NtfsFileVisitor(in NtfsFileView file);
