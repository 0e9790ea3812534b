#include "StyleMMModule.h"

#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

#include "stylemm/stylemm.h"

DEFINE_LOG_CATEGORY(LogStyleMM);

namespace StyleMMModuleDetail
{
// Where StyleMM.Build.cs links and stages the library: ThirdParty/stylemm/lib/<Platform>/<Name>.
#if PLATFORM_WINDOWS
const TCHAR* const PlatformFolder = TEXT("Win64");
const TCHAR* const LibraryName = TEXT("stylemm.dll");
#elif PLATFORM_MAC
const TCHAR* const PlatformFolder = TEXT("Mac");
const TCHAR* const LibraryName = TEXT("libstylemm.dylib");
#elif PLATFORM_LINUX
const TCHAR* const PlatformFolder = TEXT("Linux");
const TCHAR* const LibraryName = TEXT("libstylemm.so");
#else
const TCHAR* const PlatformFolder = nullptr;
const TCHAR* const LibraryName = nullptr;
#endif

FString VersionString(int32 Packed)
{
	return FString::Printf(TEXT("%d.%d.%d"), Packed / 10000, Packed / 100 % 100, Packed % 100);
}
}  // namespace StyleMMModuleDetail

void FStyleMMModule::StartupModule()
{
	const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("StyleMM"));
	if (!Plugin.IsValid() || StyleMMModuleDetail::LibraryName == nullptr)
	{
		Fail(TEXT("StyleMM: no libstylemm for this platform"));
		return;
	}
	const FString Directory =
		FPaths::Combine(Plugin->GetBaseDir(), TEXT("ThirdParty"), TEXT("stylemm"), TEXT("lib"), StyleMMModuleDetail::PlatformFolder);
	const FString Path = FPaths::Combine(Directory, StyleMMModuleDetail::LibraryName);

	FPlatformProcess::PushDllDirectory(*Directory);
	LibraryHandle = FPlatformProcess::GetDllHandle(*Path);
	FPlatformProcess::PopDllDirectory(*Directory);
	if (LibraryHandle == nullptr)
	{
		Fail(FString::Printf(TEXT("StyleMM: cannot load %s; build libstylemm and copy it there (samples/unreal/README.md)"), *Path));
		return;
	}

	// Looked up by name rather than called through the import: a stale or foreign library then
	// gives this message instead of a failed delay-load (a crash) on the first call.
	using FCheckVersion = smm_status (*)(int);
	using FVersion = int (*)();
	const FCheckVersion CheckVersion =
		reinterpret_cast<FCheckVersion>(FPlatformProcess::GetDllExport(LibraryHandle, TEXT("smm_check_version")));
	const FVersion Version = reinterpret_cast<FVersion>(FPlatformProcess::GetDllExport(LibraryHandle, TEXT("smm_version")));
	if (CheckVersion == nullptr || Version == nullptr)
	{
		Fail(FString::Printf(TEXT("StyleMM: %s is not libstylemm (no smm_check_version)"), *Path));
		return;
	}
	if (CheckVersion(STYLEMM_VERSION) != SMM_OK)
	{
		Fail(FString::Printf(TEXT("StyleMM: %s is libstylemm %s, but the plugin was compiled against stylemm.h %s; "
								  "copy the library and the header of the same release into ThirdParty/stylemm"),
			*Path, *StyleMMModuleDetail::VersionString(Version()), *StyleMMModuleDetail::VersionString(STYLEMM_VERSION)));
		return;
	}
	bLibraryReady = true;
	UE_LOG(LogStyleMM, Log, TEXT("libstylemm %s loaded from %s"), *StyleMMModuleDetail::VersionString(Version()), *Path);
}

void FStyleMMModule::ShutdownModule()
{
	// Components free their models, evaluators and characters when they end play, before this.
	bLibraryReady = false;
	if (LibraryHandle != nullptr)
	{
		FPlatformProcess::FreeDllHandle(LibraryHandle);
		LibraryHandle = nullptr;
	}
}

void FStyleMMModule::Fail(const FString& Message)
{
	LibraryError = Message;
	UE_LOG(LogStyleMM, Error, TEXT("%s"), *Message);
}

bool FStyleMMModule::IsLibraryReady()
{
	const FStyleMMModule* Module = FModuleManager::GetModulePtr<FStyleMMModule>(TEXT("StyleMM"));
	return Module != nullptr && Module->bLibraryReady;
}

FString FStyleMMModule::GetLibraryError()
{
	const FStyleMMModule* Module = FModuleManager::GetModulePtr<FStyleMMModule>(TEXT("StyleMM"));
	return Module == nullptr ? FString(TEXT("StyleMM: the module is not loaded")) : Module->LibraryError;
}

IMPLEMENT_MODULE(FStyleMMModule, StyleMM)
