namespace Prism.Disks.Ext4;

/// <summary>Receives one file or directory from <see cref="Ext4Volume.Visit"/>; <paramref name="file"/> is valid only during the call.</summary>
/// <param name="file">The file, its path and (on request) its sector map.</param>
public delegate void Ext4FileVisitor(in Ext4FileView file);
