// StyleMM: links the native core libstylemm (its C ABI, stylemm.h) into an Unreal module.
//
// Before building, put the header and the library of one StyleMM release into the plugin
// (samples/unreal/README.md says how to build them):
//   ThirdParty/stylemm/include/stylemm/stylemm.h   <- bindings/include/stylemm/stylemm.h
//   ThirdParty/stylemm/lib/Win64/stylemm.dll, stylemm.lib
//   ThirdParty/stylemm/lib/Linux/libstylemm.so and libstylemm.so.<MAJOR>.<MINOR> (its soname)
//   ThirdParty/stylemm/lib/Mac/libstylemm.dylib (install name @rpath/libstylemm.dylib)
using System.IO;
using UnrealBuildTool;

public class StyleMM : ModuleRules
{
	public StyleMM(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "ProceduralMeshComponent" });
		PrivateDependencyModuleNames.AddRange(new string[] { "Projects" });  // IPluginManager, to find ThirdParty/

		string StyleMMDir = Path.GetFullPath(Path.Combine(ModuleDirectory, "..", "..", "ThirdParty", "stylemm"));
		string IncludeDir = Path.Combine(StyleMMDir, "include");
		Require(Path.Combine(IncludeDir, "stylemm", "stylemm.h"));
		PublicIncludePaths.Add(IncludeDir);

		// The library is loaded by FStyleMMModule::StartupModule from the plugin's own folder,
		// and staged with packaged games by RuntimeDependencies.
		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			string LibDir = Path.Combine(StyleMMDir, "lib", "Win64");
			PublicAdditionalLibraries.Add(Require(Path.Combine(LibDir, "stylemm.lib")));  // import library
			Require(Path.Combine(LibDir, "stylemm.dll"));
			// Delay-loaded: resolved on first use, after StartupModule has loaded the DLL by its full path.
			PublicDelayLoadDLLs.Add("stylemm.dll");
			RuntimeDependencies.Add("$(PluginDir)/ThirdParty/stylemm/lib/Win64/stylemm.dll");
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			string LibDir = Path.Combine(StyleMMDir, "lib", "Linux");
			string SharedObject = Require(Path.Combine(LibDir, "libstylemm.so"));
			// As Epic's third-party library template does: linked, and listed as delay-loaded.
			PublicAdditionalLibraries.Add(SharedObject);
			PublicDelayLoadDLLs.Add(SharedObject);
			// The linker records the soname (libstylemm.so.0.3), so that file must be staged too.
			foreach (string Library in Directory.GetFiles(LibDir, "libstylemm.so*"))
			{
				RuntimeDependencies.Add("$(PluginDir)/ThirdParty/stylemm/lib/Linux/" + Path.GetFileName(Library));
			}
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			string Dylib = Require(Path.Combine(StyleMMDir, "lib", "Mac", "libstylemm.dylib"));
			PublicDelayLoadDLLs.Add(Dylib);
			RuntimeDependencies.Add("$(PluginDir)/ThirdParty/stylemm/lib/Mac/libstylemm.dylib");
		}
		else
		{
			throw new BuildException("StyleMM: no libstylemm for " + Target.Platform + " (Win64, Linux and Mac are supported)");
		}
	}

	private static string Require(string FilePath)
	{
		if (!File.Exists(FilePath))
		{
			throw new BuildException("StyleMM: " + FilePath + " is missing. Build libstylemm and copy it and stylemm.h "
				+ "into the plugin's ThirdParty/stylemm folder (see samples/unreal/README.md).");
		}
		return FilePath;
	}
}
