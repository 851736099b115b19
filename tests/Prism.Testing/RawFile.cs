namespace Prism.Testing;

/// <summary>Opens test images to patch them in place (damage a structure, plant bytes) behind Prism's back.</summary>
public static class RawFile
{
    /// <summary>
    /// Opens <paramref name="path"/> for writing without .NET's exclusive flock. <see cref="File.OpenWrite"/> asks for one
    /// (FileShare.None) and fails with EWOULDBLOCK while any open file description of the image still holds a shared
    /// lock — also one a child process forked by a parallel test inherited from a reader that was just disposed, until
    /// that child execs. Patching needs no lock: nothing else writes the test's own image.
    /// </summary>
    public static FileStream OpenForPatch(string path) => new(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
}
