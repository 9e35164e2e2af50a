using System.IO.Compression;
using Google.Protobuf;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

/// <summary>
/// Seeded random damage to real files: every reader must either load the file or throw WeightsFormatException,
/// never anything else (no crash, no stray exception type, no partial result).
/// </summary>
public class CorruptionTests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void SafeTensors_DamagedHeaders_LoadOrThrowWeightsFormatException()
    {
        using var scope = NewDisposeScope();
        var good = _tmp.PathOf("good.safetensors");
        SafeTensors.Save(good, new Dictionary<string, Tensor> { ["a.weight"] = randn(3, 4), ["a.n"] = tensor(7L), ["b"] = randn(5) },
            ScalarType.Float16, new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(good);
        var rng = new Random(7);
        for (int i = 0; i < 300; i++)
        {
            var damaged = (byte[])bytes.Clone();
            int at = rng.Next(0, Math.Min(damaged.Length, 8 + 200)); // the length prefix and the JSON header
            damaged[at] = (byte)rng.Next(256);
            AssertLoadsOrRejects(damaged, "fuzz.safetensors", SafeTensors.Load);
        }
    }

    [Fact]
    public void Pth_DamagedPickles_LoadOrThrowWeightsFormatException()
    {
        byte[] pickle;
        using (var zip = ZipFile.OpenRead(TempFolder.TestData("pth_cases.pth")))
        using (var ms = new MemoryStream())
        {
            using (var s = zip.GetEntry("pth_cases/data.pkl")!.Open()) s.CopyTo(ms);
            pickle = ms.ToArray();
        }
        var rng = new Random(11);
        for (int i = 0; i < 150; i++)
        {
            var damaged = (byte[])pickle.Clone();
            for (int k = 0; k < 1 + i % 3; k++) damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            var path = _tmp.PathOf("fuzz.pth");
            File.Copy(TempFolder.TestData("pth_cases.pth"), path, overwrite: true);
            using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
            {
                zip.GetEntry("pth_cases/data.pkl")!.Delete();
                using var w = zip.CreateEntry("pth_cases/data.pkl").Open();
                w.Write(damaged);
            }
            AssertLoadsOrRejects(File.ReadAllBytes(path), "fuzz.pth", PthReader.Load);
        }
    }

    [Fact]
    public void TorchSharpFormat_DamagedFiles_LoadOrThrowWeightsFormatException()
    {
        using var scope = NewDisposeScope();
        var good = _tmp.PathOf("good.dat");
        TorchSharpFormat.Save(good, new Dictionary<string, Tensor> { ["a.weight"] = randn(3, 4), ["a.n"] = tensor(7L) });
        var bytes = File.ReadAllBytes(good);
        var rng = new Random(13);
        for (int i = 0; i < 300; i++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            AssertLoadsOrRejects(rng.Next(4) == 0 ? damaged[..rng.Next(damaged.Length)] : damaged, "fuzz.dat", TorchSharpFormat.Load);
        }
    }

    /// <summary>A small graph of the operators the importer reads, with raw and typed initialisers, damaged and cut.</summary>
    [Fact]
    public void Onnx_DamagedModels_LoadOrThrowWeightsFormatException()
    {
        var proto = new ModelProto { IrVersion = 7, ProducerName = "test", Graph = new GraphProto { Name = "g" } };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        proto.Graph.Input.Add(new ValueInfoProto { Name = "x" });
        var w = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2, 1, 3, 3 },
            RawData = ByteString.CopyFrom(new byte[2 * 9 * 4]) };
        var scale = new TensorProto { Name = "s", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2 }, FloatData = { 1f, 2f } };
        proto.Graph.Initializer.Add(w);
        proto.Graph.Initializer.Add(scale);
        proto.Graph.Node.Add(new NodeProto { Name = "c", OpType = "Conv", Input = { "x", "w" }, Output = { "y" },
            Attribute = { new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } } } });
        proto.Graph.Node.Add(new NodeProto { Name = "r", OpType = "Relu", Input = { "y" }, Output = { "z" } });
        proto.Graph.Output.Add(new ValueInfoProto { Name = "z" });
        var bytes = proto.ToByteArray();
        var rng = new Random(17);
        for (int i = 0; i < 300; i++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            AssertLoadsOrRejects(rng.Next(4) == 0 ? damaged[..rng.Next(damaged.Length)] : damaged, "fuzz.onnx", path =>
            {
                var onnx = OnnxModel.Read(path);
                return onnx.Initializers.Keys.ToDictionary(k => k, onnx.LoadInitializer);
            });
        }
    }

    void AssertLoadsOrRejects(byte[] content, string name, Func<string, Dictionary<string, Tensor>> load)
    {
        var path = _tmp.PathOf(name);
        File.WriteAllBytes(path, content);
        try
        {
            var sd = load(path);
            StateDicts.Dispose(sd.Values);
        }
        catch (WeightsFormatException)
        {
        }
    }
}
