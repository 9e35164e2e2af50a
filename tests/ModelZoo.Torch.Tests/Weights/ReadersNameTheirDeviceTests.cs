using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

/// <summary>
/// libtorch's default device is process-wide. The portal once switched it to meta while it measured an architecture,
/// and a weights reader that let the default decide returned meta tensors to a run that was loading its best epoch at
/// that moment ("Reading data from non-CPU memory", CI). The portal now builds on meta per thread
/// (TorchRuntime.BuildDevice); every reader still names the CPU. Runs alone: it switches the default device itself.
/// </summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class ReadersNameTheirDeviceTests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static Dictionary<string, Tensor> WhileTheDefaultIsMeta(Func<Dictionary<string, Tensor>> read)
    {
        lock (ModelZoo.Torch.Native.TorchRuntime.ConstructionLock)
        {
            set_default_device(META);
            try { return read(); }
            finally { set_default_device(CPU); }
        }
    }

    static void ShouldAllBeOnTheCpu(Dictionary<string, Tensor> state)
    {
        try
        {
            state.ShouldNotBeEmpty();
            state.Values.ShouldAllBe(t => t.device_type == DeviceType.CPU);
        }
        finally { StateDicts.Dispose(state.Values); }
    }

    [Fact]
    public void SafeTensors_PthAndTorchSharpFiles_LoadOnTheCpu_WhileAnotherThreadBuildsOnMeta()
    {
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => SafeTensors.Load(TestFixtures.PathOf("resnet18_seed7.safetensors"))));
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => PthReader.Load(TestFixtures.PathOf("mobilenet_v2_seed7.pth"))));

        var path = _tmp.PathOf("state.dat");
        TorchSharpFormat.Save(path, new Dictionary<string, Tensor> { ["w"] = ones(3, device: CPU), ["n"] = tensor(5L, device: CPU) });
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => TorchSharpFormat.Load(path)));
    }

    [Fact]
    public void OnnxInitialisers_LoadOnTheCpu_WhileAnotherThreadBuildsOnMeta()
    {
        using var model = ArchitectureRegistry.Default.Create("resnet18_cntk");
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => OnnxImporter.ReadStateDict(OnnxTestFiles.MlNetResNet18, model).StateDict));
    }
}
